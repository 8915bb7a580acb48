// A cell for CLI tests before (and beside) the full local cell: real BorgMaster API servers (real gRPC, real
// mutual TLS from a throwaway CA, real CellState) sharing the API team's in-process log
// (borgmaster/api/test_log_for_handler_tests.ts), replica 1 leading and the others following, plus a cell
// config file pointing at them, so the real `borg` binary can be run against it. Knobs for failure tests: lose
// the answer to the next write after it was committed. stepScheduler() stands in for the scheduler process by
// committing SCHEDULE transitions for pending tasks through the same log (the state machine checks each fit), and
// stepBorglets() for the Borglets' health reports.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCellConfig, type CellConfig } from '../../cells/config';
import { certDir, replicaName } from '../../cells/identity';
import { systemClock } from '../../model/clock';
import { Unavailable } from '../../model/errors';
import { ensureCellCa, issueCert } from '../../cells/security/index';
import { Master, startMasterServer, type MasterServer, type ReplicatedLog, type TaskLogSource } from '../../borgmaster/api/index';
import { InProcessLogForHandlerTests } from '../../borgmaster/api/test_log_for_handler_tests';
import { bodies, bootstrapCommands, command, encodeCommand } from '../../borgmaster/state/index';
import { EventType, TaskState } from '../../proto/index';

export interface ApiCellOptions {
  cell?: string;
  replicas?: number;
  /** extra YAML appended to the config (machines, quotas); the default has 2 machines and quota for ubar. */
  machinesYaml?: string;
  quotasYaml?: string;
  /** users whose certificates are issued up front; others are left for the CLI to issue. */
  users?: string[];
  taskLogs?: TaskLogSource;
}

export class ApiCell {
  /** loseAnswers: the next N committed writes answer UNAVAILABLE, as if the reply was lost on the way. */
  loseAnswers = 0;
  /** proposals counts writes that reached the log (a retried write answered from the request cache does not). */
  proposals = 0;

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly config: CellConfig,
    readonly log: InProcessLogForHandlerTests,
    readonly masters: Master[],
    readonly servers: MasterServer[],
  ) {}

  get addresses(): string[] {
    return this.servers.map((s) => s.address);
  }

  get leader(): Master {
    return this.masters[this.log.leaderId - 1] as Master;
  }

  static async start(o: ApiCellOptions = {}): Promise<ApiCell> {
    const cell = o.cell ?? 'test';
    const n = o.replicas ?? 3;
    const dir = await mkdtemp(join(tmpdir(), 'borg-cli-cell-'));
    const servers: MasterServer[] = [];
    try {
      const caDir = join(dir, 'ca');
      const ca = await ensureCellCa(caDir, cell);
      const tls = await issueCert(ca, replicaName(1), ['replica'], join(caDir, 'certs'));
      const log = new InProcessLogForHandlerTests();
      const masters: Master[] = [];
      const holder: { cell?: ApiCell } = {};
      for (let id = 1; id <= n; id++) {
        const inner = log.view(id);
        const view: ReplicatedLog = {
          ...inner,
          propose: async (commands) => {
            const index = await inner.propose(commands);
            const c = holder.cell;
            if (c !== undefined) {
              c.proposals++;
              if (c.loseAnswers > 0) {
                c.loseAnswers--;
                throw new Unavailable(`test: the answer for log index ${index} was lost after it was committed`);
              }
            }
            return index;
          },
        };
        const m = new Master({ cell, replicaId: id, log: view, clock: systemClock, admins: ['admin'], taskLogs: o.taskLogs });
        log.attach(id, m, '');
        masters.push(m);
      }
      for (const m of masters) servers.push(await startMasterServer(m, tls));
      servers.forEach((s, i) => log.setAddress(i + 1, s.address));
      // The machines' Borglet addresses are never dialed (no Borglets here); distinct hosts keep their task port
      // ranges from overlapping in the config's check.
      const machinesYaml =
        o.machinesYaml ??
        `machines:
  - { name: m0, address: "127.0.0.1:1", capacity: { cpu: 2, ram: 4GiB, disk: 10GiB, ports: 100 }, attributes: { os: linux }, rack: r1, powerDomain: p1 }
  - { name: m1, address: "127.0.0.2:2", capacity: { cpu: 2, ram: 4GiB, disk: 10GiB, ports: 100 }, attributes: { os: linux }, rack: r2, powerDomain: p1 }
`;
      const quotasYaml =
        o.quotasYaml ??
        `quotas:
  - { user: ubar, priority: prod, limit: { cpu: 2, ram: 4GiB, disk: 10GiB, ports: 50 } }
  - { user: ubar, priority: batch, limit: { cpu: 2, ram: 4GiB, disk: 10GiB, ports: 50 } }
`;
      const yaml = `cell: ${cell}
replicas:
${servers.map((s, i) => `  - { id: ${i + 1}, address: "${s.address}", statusAddress: "127.0.0.1:${19000 + i}", dataDir: ${join(dir, `replica-${i + 1}`)} }`).join('\n')}
${machinesYaml}${quotasYaml}admins: [admin]
security:
  tls: true
  caDir: ${caDir}
`;
      const configFile = join(dir, 'cell.yaml');
      await writeFile(configFile, yaml);
      const config = loadCellConfig(configFile);
      for (const u of o.users ?? []) await issueCert(ca, u, config.admins.includes(u) ? ['user', 'admin'] : ['user'], certDir(config));
      log.appendDirect(bootstrapCommands(config, Date.now()).map(encodeCommand));
      const c = new ApiCell(dir, configFile, config, log, masters, servers);
      holder.cell = c;
      return c;
    } catch (e: unknown) {
      await Promise.all(servers.map((s) => s.close()));
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** commit applies one command body on every replica at the next log index (as the elected master would). */
  commit(body: Parameters<typeof command>[0]): number {
    return this.log.appendDirect([encodeCommand(command(body, { timeMs: Date.now() }))]);
  }

  /** stepScheduler places every pending task on the first machine where the state machine accepts it. */
  stepScheduler(): number {
    let placed = 0;
    for (const job of this.leader.state.jobs.values()) {
      for (const t of job.tasks) {
        if (t.state !== TaskState.PENDING || t.notBeforeMs > Date.now()) continue;
        for (const m of this.leader.state.machines.keys()) {
          const before = this.log.lastIndex;
          this.commit(bodies.transitions([{ taskId: t.id, event: EventType.SCHEDULE, machine: m }]));
          if (this.log.lastIndex > before && (t.state as TaskState) === TaskState.RUNNING) {
            placed++;
            break;
          }
        }
      }
    }
    return placed;
  }

  /**
   * stepBorglets stands in for the Borglets' reports (through link shards): every running task not yet healthy is
   * reported healthy, as a Borglet reports a task it runs that passes its health check.
   */
  stepBorglets(): number {
    const updates: { taskId: string; machine: string; healthy: boolean }[] = [];
    for (const job of this.leader.state.jobs.values()) {
      for (const t of job.tasks) if (t.state === TaskState.RUNNING && !t.healthy && t.machine) updates.push({ taskId: t.id, machine: t.machine.name, healthy: true });
    }
    if (updates.length > 0) this.commit(bodies.health(updates));
    return updates.length;
  }

  /** run calls stepScheduler, then stepBorglets, every `intervalMs` until the returned stop function is called. */
  run(intervalMs = 100): () => void {
    const timer = setInterval(() => {
      this.stepScheduler();
      this.stepBorglets();
    }, intervalMs);
    return () => clearInterval(timer);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
