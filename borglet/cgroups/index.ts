// The Borglet's cgroup layer: one interface (driver.ts), a v1 and a v2 driver, and detection.
export * from './driver';
export { CgroupV1Driver, V1_CONTROLLERS, type V1Controller } from './v1';
export { CgroupV2Driver, V2_CONTROLLERS } from './v2';
export { parseMountinfo, chooseDriver, detectCgroupDriver, type CgroupMounts, type DriverChoice, type DriverPreference } from './detect';
