// Cell configuration and the bounds every component obeys.
export * from './config';
export * as limits from './limits';
