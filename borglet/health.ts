// Health checks (TaskSpec.health_check): an HTTP GET on 127.0.0.1:<port><path> every interval; 2xx is healthy.
// healthStep is the pure rule (consecutive failures trigger a restart); probeHttp is the IO.
import { request } from 'node:http';
import type { HealthRule } from './spec';

export interface HealthState {
  failures: number;
  healthy: boolean;
}

export function healthStep(s: HealthState, ok: boolean, rule: HealthRule): { state: HealthState; restart: boolean } {
  const failures = ok ? 0 : s.failures + 1;
  return { state: { failures, healthy: ok }, restart: failures >= rule.failuresBeforeRestart };
}

/** probeHttp resolves true for a 2xx answer within the timeout, false for anything else. Never rejects. */
export function probeHttp(rule: HealthRule): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: rule.port, path: rule.path, method: 'GET', timeout: rule.timeoutMs, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
