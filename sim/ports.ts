// freePort finds an unused loopback port for tests, simulations and benchmarks that start real servers.
// Asking the kernel for port 0 and closing it races with every other process doing the same: two test files
// running side by side were handed one port. So each process takes ports from its own slice of 10000-19999
// (below the kernel's ephemeral range and the cells' task port ranges), chosen by its pid, walking the slice
// and checking each port with a real bind before handing it out.
import { createServer } from 'node:net';

const RANGE_START = 10_000;
const SLICE = 200;
const SLICES = 50;
const sliceStart = RANGE_START + (process.pid % SLICES) * SLICE;
let next = Math.floor(Math.random() * SLICE);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < SLICE; i++) {
    const port = sliceStart + (next++ % SLICE);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free loopback port in ${sliceStart}-${sliceStart + SLICE - 1}`);
}
