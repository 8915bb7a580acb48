// Every bound in the system, in one place (TigerBeetle style), with the relations between them asserted at load.
// A queue, loop, batch or message without a bound here is a bug. Change a number here, not at the use site.
import { assert } from '../model/assert';

const KiB = 1024;
const MiB = 1024 * KiB;

// --- Cell size ---
export const MAX_MACHINES_PER_CELL = 50_000;
export const MAX_JOBS_PER_CELL = 100_000;
export const MAX_TASKS_PER_JOB = 100_000;
export const MAX_TASKS_PER_CELL = 1_000_000;
export const MAX_TASKS_PER_MACHINE = 1_000;
export const MAX_REPLICAS = 5;

// --- Specs: what one user may send ---
export const MAX_NAME_BYTES = 63;
export const MAX_COMMAND_BYTES = 4 * KiB;
export const MAX_ARGS = 1_024;
export const MAX_ARG_BYTES = 16 * KiB;
export const MAX_ENV_ENTRIES = 1_024;
export const MAX_ENV_VALUE_BYTES = 16 * KiB;
export const MAX_CONSTRAINTS = 64;
export const MAX_CONSTRAINT_VALUES = 256;
export const MAX_ANNOTATIONS = 256;
export const MAX_OVERRIDES_PER_JOB = 10_000;
/** MAX_TASK_SPEC_BYTES bounds one encoded TaskSpec. */
export const MAX_TASK_SPEC_BYTES = 64 * KiB;
/** MAX_JOB_SPEC_BYTES bounds one encoded JobSpec, overrides included. */
export const MAX_JOB_SPEC_BYTES = 4 * MiB;
export const MAX_PORTS_PER_TASK = 64;
/** One task's requirements are at most a very large machine; sums over a job are checked where they are made. */
export const MAX_TASK_CPU_MILLIS = 1_000_000;
export const MAX_TASK_RAM_BYTES = 16 * 1024 * 1024 * MiB;
export const MAX_TASK_DISK_BYTES = 1024 * 1024 * 1024 * MiB;

// --- Wire ---
/** MAX_MESSAGE_BYTES is every gRPC server's and client's receive limit. */
export const MAX_MESSAGE_BYTES = 64 * MiB;
export const LIST_PAGE_SIZE_DEFAULT = 1_000;
export const LIST_PAGE_SIZE_MAX = 10_000;
export const WATCH_BUFFER_EVENTS = 10_000;
export const MAX_WATCHERS = 256;

// --- Paxos ---
export const PAXOS_MAX_BATCH_COMMANDS = 1_024;
export const PAXOS_MAX_BATCH_BYTES = 8 * MiB;
/** PAXOS_MAX_INFLIGHT_SLOTS bounds slots proposed but not yet chosen (the pipeline depth). */
export const PAXOS_MAX_INFLIGHT_SLOTS = 16_384;
export const PAXOS_MAX_PROPOSAL_QUEUE = 65_536;
export const PAXOS_MAX_CATCHUP_ENTRIES = 4_096;
export const PAXOS_SNAPSHOT_EVERY_ENTRIES = 50_000;
/**
 * PAXOS_LEVELDB_WRITE_BUFFER_BYTES: each replica's LevelDB memtable (two at most: one filling, one flushing). A log
 * entry truncated after a snapshot while still in the memtable never reaches a table file, so a memtable that holds
 * a snapshot interval's entries (~15 MiB at 300 bytes) saves flushing and compacting nearly every entry.
 */
export const PAXOS_LEVELDB_WRITE_BUFFER_BYTES = 64 * MiB;
/**
 * PAXOS_ENCODED_ENTRY_CACHE_BYTES bounds the encoded entries borgmaster/paxos/wire.ts keeps so the leader's disk
 * record and its ACCEPTs share one encoding (two generations of half this size; older entries are re-encoded).
 */
export const PAXOS_ENCODED_ENTRY_CACHE_BYTES = 32 * MiB;
/**
 * PAXOS_ENCODED_ENTRY_CACHE_ENTRIES bounds the same cache by count (two generations of half this many): every
 * cached encoding is an object the garbage collector traces, and a byte bound alone let ~100,000 small ones live.
 */
export const PAXOS_ENCODED_ENTRY_CACHE_ENTRIES = 8_192;
/** PAXOS_SEND_QUEUE_MESSAGES / _BYTES bound what waits for one peer's stream; beyond them the oldest is dropped. */
export const PAXOS_SEND_QUEUE_MESSAGES = 8_192;
export const PAXOS_SEND_QUEUE_BYTES = 64 * MiB;
/** PAXOS_TRANSPORT_BATCH_BYTES bounds one PaxosBatch on the wire (several messages to one peer). */
export const PAXOS_TRANSPORT_BATCH_BYTES = 16 * MiB;
/** PAXOS_RECONNECT_MIN_MS / _MAX_MS: backoff between attempts to reopen a peer's stream. */
export const PAXOS_RECONNECT_MIN_MS = 20;
export const PAXOS_RECONNECT_MAX_MS = 500;
/** PAXOS_KV_MAX_KEY_BYTES / _VALUE_BYTES bound the standalone replica's key-value service (replica_main.ts). */
export const PAXOS_KV_MAX_KEY_BYTES = 1 * KiB;
export const PAXOS_KV_MAX_VALUE_BYTES = 1 * MiB;
/** PAXOS_KV_HISTORY_WRITES bounds the applied-write history the replica keeps for checks; PAXOS_KV_HISTORY_PAGE one page of it. */
export const PAXOS_KV_HISTORY_WRITES = 200_000;
export const PAXOS_KV_HISTORY_PAGE = 10_000;
/** PAXOS_KV_MAX_CONCURRENT_STREAMS: calls one client connection may have open at once on a replica's client port. */
export const PAXOS_KV_MAX_CONCURRENT_STREAMS = 4_096;
/**
 * PAXOS_HTTP2_WINDOW_BYTES: the HTTP/2 receive window (per connection and per stream) a Paxos replica advertises on
 * its peer and client ports. Node's default is 64 KiB: a batch of ACCEPTs larger than that (~80 KB at 256 writers)
 * waited mid-message for a WINDOW_UPDATE round trip, and so did a wave of 256 client puts on one connection. Go's
 * gRPC (etcd) grows its windows by BDP estimation up to 16 MiB. It bounds what one connection may have unread.
 */
export const PAXOS_HTTP2_WINDOW_BYTES = 16 * MiB;
/**
 * PAXOS_KV_ANSWERS_PER_TURN: answers a replica's client port writes per turn of its event loop (the rest wait for
 * the next turns), so the answers of one large batch reach a client spread out, not as one burst it handles in one
 * long turn before sending anything (borgmaster/paxos/grpc_unary_server.ts).
 */
export const PAXOS_KV_ANSWERS_PER_TURN = 32;

// --- State ---
export const IDEMPOTENCY_CACHE_ENTRIES = 100_000;
/** IDEMPOTENCY_CACHE_TASK_IDS bounds the task ids held in remembered results (plans, updates) across the cache. */
export const IDEMPOTENCY_CACHE_TASK_IDS = 2_000_000;
export const EVENT_HISTORY_MAX = 1_000_000;

// --- Borgmaster state and API (borgmaster/state, borgmaster/api, borgmaster/plan) ---
/** MAX_REQUEST_ID_BYTES bounds a client's idempotency key. */
export const MAX_REQUEST_ID_BYTES = 128;
/** MAX_TRANSITIONS_PER_COMMAND bounds one TaskTransitions or ReservationUpdates command (link shards batch). */
export const MAX_TRANSITIONS_PER_COMMAND = 20_000;
/** MAX_MESSAGE_TEXT_BYTES bounds free text carried in commands (task messages, reasons, why-pending). */
export const MAX_MESSAGE_TEXT_BYTES = 1 * KiB;
export const MAX_MACHINE_ATTRIBUTES = 256;
/** TASK_PORT_BASE is the first port number handed to tasks; a machine's ports are [base, base + capacity.ports). */
export const TASK_PORT_BASE = 20_000;
/** MIN_PORT_BASE keeps task ports out of the privileged range. */
export const MIN_PORT_BASE = 1_024;
export const MAX_MACHINE_PORTS = 65_535 - TASK_PORT_BASE;
/** Reservations are rounded up to these quanta, so small estimate changes cause no replicated churn (B15 §5.5). */
export const RESERVATION_QUANTUM_CPU_MILLIS = 50;
export const RESERVATION_QUANTUM_RAM_BYTES = 16 * MiB;
export const RESERVATION_QUANTUM_DISK_BYTES = 64 * MiB;
/** Restart back-off after a task fails, when its RestartPolicy leaves the fields at 0. */
export const RESTART_BACKOFF_INITIAL_MS_DEFAULT = 1_000;
export const RESTART_BACKOFF_MAX_MS_DEFAULT = 60_000;
/** RESTART_BACKOFF_MAX_MS bounds what a spec may ask for. */
export const RESTART_BACKOFF_MAX_MS = 3_600_000;
/**
 * RESTART_RESET_AFTER_MS_DEFAULT: a run at least this long forgives the failures before it, when the RestartPolicy
 * leaves reset_after_ms at 0: max_restarts and the back-off count from zero again (Kubernetes resets its back-off
 * after 10 minutes of running), so a service that fails once a month is not dead by its tenth month.
 */
export const RESTART_RESET_AFTER_MS_DEFAULT = 600_000;
/** RESTART_RESET_AFTER_MS_MAX bounds what a spec may ask for (30 days). */
export const RESTART_RESET_AFTER_MS_MAX = 30 * 86_400_000;
/** WATCH_HISTORY_ENTRIES is how many applied log entries' changes a replica keeps so a watcher can resume. */
export const WATCH_HISTORY_ENTRIES = 4_096;
/** WATCH_HISTORY_ITEMS bounds the jobs + tasks + machines held across that history (large jobs age out first). */
export const WATCH_HISTORY_ITEMS = 200_000;
/**
 * WATCH_HISTORY_BYTES bounds the encoded size of that history: it is what a watcher resuming after a failover
 * needs (seconds of changes), not a copy of the cell (100,000 rendered tasks would cost ~1.5 KiB each).
 */
export const WATCH_HISTORY_BYTES = 16 * MiB;
/** PROPOSE_TIMEOUT_MS bounds how long an API call waits for its command to be chosen and applied. */
export const PROPOSE_TIMEOUT_MS = 10_000;

// --- Scheduler ---
export const PENDING_QUEUE_MAX = MAX_TASKS_PER_CELL;
export const PLAN_MAX_ASSIGNMENTS = 20_000;
/**
 * PLAN_COMMIT_CHUNK_ASSIGNMENTS: the scheduler process commits a large plan in CommitPlans of at most this many
 * assignments, one after another, so no single log entry makes every replica apply (and publish) tens of
 * thousands of placements in one event-loop turn while heartbeats wait.
 */
export const PLAN_COMMIT_CHUNK_ASSIGNMENTS = 1_000;
export const MAX_VICTIMS_PER_ASSIGNMENT = 64;
/** SCHED_CACHE_MAX_ENTRIES bounds the (equivalence class, machine) entries the scheduler keeps (candidates and cached scores). */
export const SCHED_CACHE_MAX_ENTRIES = 4_000_000;
/** SCHED_MAX_CLASSES bounds the equivalence classes remembered between passes (least recently used go first). */
export const SCHED_MAX_CLASSES = 200_000;
/** SCHED_FREED_LOG_ENTRIES: ring of machines that gained free resources, so an exhausted class rechecks only those. */
export const SCHED_FREED_LOG_ENTRIES = 65_536;
/** SCHED_MAX_JOB_DOMAIN_COUNTERS bounds the (job, machine/rack/power domain) task counters behind spread limits and spreading. */
export const SCHED_MAX_JOB_DOMAIN_COUNTERS = 4_000_000;

// --- Status page and /metrics (borgmaster/status) ---
/** STATUS_PAGE_ROWS_DEFAULT / _MAX: rows per page of the jobs, tasks, events and machine tables. */
export const STATUS_PAGE_ROWS_DEFAULT = 100;
export const STATUS_PAGE_ROWS_MAX = 1_000;
/** STATUS_LIVE_CLIENTS_MAX bounds open Server-Sent-Event streams per replica; more are refused with 503. */
export const STATUS_LIVE_CLIENTS_MAX = 256;
/** STATUS_LIVE_COALESCE_MS: changes are gathered this long before one notice goes to the browsers. */
export const STATUS_LIVE_COALESCE_MS = 250;
/** STATUS_LIVE_IDS_MAX: a notice names at most this many ids per kind; beyond, it says "everything changed". */
export const STATUS_LIVE_IDS_MAX = 500;
/** STATUS_LIVE_BUFFER_BYTES: a browser that lets this much pile up unread is disconnected. */
export const STATUS_LIVE_BUFFER_BYTES = 1 * MiB;
/** STATUS_LOG_TAIL_BYTES is the tail of a task's log shown on its page; STATUS_LOG_TIMEOUT_MS bounds the wait for it. */
export const STATUS_LOG_TAIL_BYTES = 64 * KiB;
export const STATUS_LOG_TIMEOUT_MS = 2_000;
/** STATUS_RECENT_EVENTS: events shown on a task or machine page. */
export const STATUS_RECENT_EVENTS = 100;
/** STATUS_PASS_WINDOW: scheduler passes kept for the cell page's latency percentiles. */
export const STATUS_PASS_WINDOW = 256;
/** STATUS_MAX_URL_BYTES bounds a request's path and query. */
export const STATUS_MAX_URL_BYTES = 4 * KiB;
/** STATUS_USAGE_ENTRIES bounds the soft-state usage samples the status page keeps (one per task and machine). */
export const STATUS_USAGE_ENTRIES = MAX_TASKS_PER_CELL + MAX_MACHINES_PER_CELL;

// --- Borglet ---
export const TASK_LOG_MAX_BYTES = 16 * MiB;
export const LOG_TAIL_MAX_BYTES = 1 * MiB;
/** BORGLET_SAMPLE_INTERVAL_MS_DEFAULT: how often the Borglet reads cgroup usage and re-plans (1 s reporting). */
export const BORGLET_SAMPLE_INTERVAL_MS_DEFAULT = 1_000;
/** BORGLET_USAGE_SAMPLES_MAX bounds the per-task ring of usage samples kept for the reclamation peak. */
export const BORGLET_USAGE_SAMPLES_MAX = 1_024;
/** RECLAIM_PEAK_WINDOW_INTERVALS: "recent" usage for reclamation is the peak over this many reclaim intervals. */
export const RECLAIM_PEAK_WINDOW_INTERVALS = 6;
/** BORGLET_DEAD_TASKS_MAX bounds the dead task records a Borglet keeps reporting until the master drops them. */
export const BORGLET_DEAD_TASKS_MAX = 1_000;
/** BORGLET_ENDED_TASK_LOGS_MAX: tasks that left a machine whose logs its Borglet keeps (the last LOG_TAIL_MAX_BYTES of each stream). */
export const BORGLET_ENDED_TASK_LOGS_MAX = 128;
export const TASK_PIDS_MAX = 4_096;
/** TASK_RAM_MIN_BYTES: a task's memory limit below this cannot even exec a shell, so it is refused. */
export const TASK_RAM_MIN_BYTES = 4 * MiB;
export const KILL_GRACE_MS_DEFAULT = 10_000;
export const KILL_GRACE_MS_MAX = 300_000;
export const HEALTH_INTERVAL_MS_DEFAULT = 10_000;
export const HEALTH_INTERVAL_MS_MIN = 100;
export const HEALTH_TIMEOUT_MS_DEFAULT = 1_000;
export const HEALTH_FAILURES_DEFAULT = 3;
/** CPU is short when machine usage reaches CPU_SHORT_FRACTION of capacity; relieved below CPU_RELIEVED_FRACTION. */
export const CPU_SHORT_FRACTION = 0.9;
export const CPU_RELIEVED_FRACTION = 0.7;
/** CPU_QUOTA_MIN_MILLIS is the floor of a throttled non-prod task's CFS quota, so it still makes progress. */
export const CPU_QUOTA_MIN_MILLIS = 10;
export const CFS_PERIOD_US = 100_000;
/** MEMORY_SHORT_FRACTION: memory is short when usage reaches this fraction of capacity (or reservations exceed it). */
export const MEMORY_SHORT_FRACTION = 0.95;
/** BORGLET_STATE_FILE_MAX_BYTES bounds the Borglet's state file (a full machine of specs fits). */
export const BORGLET_STATE_FILE_MAX_BYTES = 96 * MiB;

// --- BCL ---
export const BCL_MAX_SOURCE_BYTES = 1 * MiB;
export const BCL_MAX_STEPS = 10_000_000;
export const BCL_MAX_DEPTH = 512;
export const BCL_MAX_OUTPUT_BYTES = 16 * MiB;
export const BCL_MAX_IMPORTS = 256;
/** BCL_MAX_PARSE_DEPTH bounds the height of a syntax tree, so parsing, evaluating and formatting cannot overflow the stack. */
export const BCL_MAX_PARSE_DEPTH = 200;
/** BCL_MAX_ALLOC_BYTES bounds what one evaluation may allocate in total (strings, lists, records), garbage included. */
export const BCL_MAX_ALLOC_BYTES = 256 * MiB;
/** BCL_MAX_INTERPOLATION_DEPTH bounds "${...}" nested inside strings inside "${...}" (a lexer recursion). */
export const BCL_MAX_INTERPOLATION_DEPTH = 32;
/** BCL_MAX_PATH_STEPS bounds a field path such as `a.b["c"].d = 1`; BCL_MAX_FOR_CLAUSES a comprehension's "for"s. */
export const BCL_MAX_PATH_STEPS = 32;
export const BCL_MAX_FOR_CLAUSES = 8;

// --- Relations ---
assert(MAX_TASKS_PER_JOB <= MAX_TASKS_PER_CELL, 'a job must fit in a cell');
assert(MAX_OVERRIDES_PER_JOB <= MAX_TASKS_PER_JOB, 'overrides index tasks of the job');
assert(MAX_JOB_SPEC_BYTES <= PAXOS_MAX_BATCH_BYTES, 'one CreateJob command must fit in one Paxos batch');
assert(PAXOS_MAX_BATCH_BYTES * 2 <= MAX_MESSAGE_BYTES, 'a Paxos batch plus envelope must fit in one gRPC message');
assert(MAX_TASKS_PER_MACHINE * MAX_TASK_SPEC_BYTES <= MAX_MESSAGE_BYTES, 'a poll carrying a full machine of specs fits one message');
assert(MAX_ARG_BYTES <= MAX_TASK_SPEC_BYTES && MAX_ENV_VALUE_BYTES <= MAX_TASK_SPEC_BYTES, 'one arg or env value fits a spec');
assert(MAX_TASK_SPEC_BYTES <= MAX_JOB_SPEC_BYTES, 'a task spec fits a job spec');
assert(PENDING_QUEUE_MAX >= MAX_TASKS_PER_CELL, 'every task of a full cell can be pending at once');
assert(PLAN_MAX_ASSIGNMENTS <= PAXOS_MAX_PROPOSAL_QUEUE, 'a plan must fit the proposal queue');
assert(SCHED_CACHE_MAX_ENTRIES >= 4 * MAX_MACHINES_PER_CELL, 'the scheduler cache holds a few full-cell scans');
assert(SCHED_MAX_JOB_DOMAIN_COUNTERS >= 3 * MAX_TASKS_PER_CELL, 'every placed task can count in its machine, rack and power domain');
assert(PAXOS_MAX_CATCHUP_ENTRIES <= PAXOS_MAX_INFLIGHT_SLOTS, 'catch-up batches are within the pipeline');
assert(PAXOS_ENCODED_ENTRY_CACHE_BYTES >= 2 * PAXOS_MAX_BATCH_BYTES, 'a full Paxos batch fits one generation of the encoded-entry cache');
assert(PAXOS_MAX_BATCH_BYTES * 2 <= PAXOS_TRANSPORT_BATCH_BYTES && PAXOS_TRANSPORT_BATCH_BYTES <= MAX_MESSAGE_BYTES, 'one Paxos message fits a transport batch, which fits a gRPC message');
assert(PAXOS_TRANSPORT_BATCH_BYTES <= PAXOS_SEND_QUEUE_BYTES, 'a full transport batch fits the send queue');
assert(PAXOS_RECONNECT_MIN_MS > 0 && PAXOS_RECONNECT_MIN_MS <= PAXOS_RECONNECT_MAX_MS, 'reconnect backoff bounds are ordered');
assert(PAXOS_KV_MAX_KEY_BYTES + PAXOS_KV_MAX_VALUE_BYTES <= PAXOS_MAX_BATCH_BYTES, 'one KV put fits a Paxos batch');
assert(PAXOS_KV_HISTORY_PAGE * (PAXOS_KV_MAX_KEY_BYTES + 32) <= MAX_MESSAGE_BYTES && PAXOS_KV_HISTORY_PAGE <= PAXOS_KV_HISTORY_WRITES, 'a history page fits one message');
assert(LIST_PAGE_SIZE_DEFAULT <= LIST_PAGE_SIZE_MAX, 'default page within the maximum');
assert(LOG_TAIL_MAX_BYTES <= TASK_LOG_MAX_BYTES && LOG_TAIL_MAX_BYTES * 2 <= MAX_MESSAGE_BYTES, 'log tails fit a message');
assert(BCL_MAX_OUTPUT_BYTES <= MAX_MESSAGE_BYTES, 'BCL output must be sendable');
assert(BCL_MAX_PARSE_DEPTH < BCL_MAX_DEPTH, 'any expression the parser accepts can be evaluated at least once');
assert(BCL_MAX_INTERPOLATION_DEPTH <= BCL_MAX_PARSE_DEPTH && BCL_MAX_PATH_STEPS <= BCL_MAX_PARSE_DEPTH, 'lexer and path bounds within the tree height');
assert(BCL_MAX_OUTPUT_BYTES <= BCL_MAX_ALLOC_BYTES && MAX_JOB_SPEC_BYTES <= BCL_MAX_OUTPUT_BYTES, 'BCL can build the largest job spec');
assert(CPU_RELIEVED_FRACTION < CPU_SHORT_FRACTION && CPU_SHORT_FRACTION <= 1, 'CPU throttling has hysteresis');
assert(MEMORY_SHORT_FRACTION > 0 && MEMORY_SHORT_FRACTION <= 1, 'memory threshold is a fraction');
assert(KILL_GRACE_MS_DEFAULT <= KILL_GRACE_MS_MAX, 'default grace within the maximum');
assert(HEALTH_INTERVAL_MS_MIN <= HEALTH_INTERVAL_MS_DEFAULT, 'default health interval within the minimum');
assert(MAX_TASKS_PER_MACHINE * MAX_TASK_SPEC_BYTES <= BORGLET_STATE_FILE_MAX_BYTES, 'a full machine of specs fits the Borglet state file');
assert(BORGLET_DEAD_TASKS_MAX >= MAX_TASKS_PER_MACHINE, 'every task of a full machine can die at once and still be reported');
assert(IDEMPOTENCY_CACHE_TASK_IDS >= 2 * MAX_TRANSITIONS_PER_COMMAND, 'the result of the largest command is remembered');
assert(MAX_TRANSITIONS_PER_COMMAND >= PLAN_MAX_ASSIGNMENTS, 'a whole plan commits as one command');
assert(MAX_TRANSITIONS_PER_COMMAND <= PAXOS_MAX_PROPOSAL_QUEUE, 'a transitions batch fits the proposal queue');
assert(TASK_PORT_BASE + MAX_MACHINE_PORTS <= 65_535, 'task ports are valid port numbers');
assert(MAX_PORTS_PER_TASK <= MAX_MACHINE_PORTS, 'a task asking the most ports fits a machine');
assert(RESTART_BACKOFF_INITIAL_MS_DEFAULT <= RESTART_BACKOFF_MAX_MS_DEFAULT && RESTART_BACKOFF_MAX_MS_DEFAULT <= RESTART_BACKOFF_MAX_MS, 'back-off defaults within bounds');
assert(WATCH_BUFFER_EVENTS <= WATCH_HISTORY_ENTRIES * 4, 'a watcher buffer is of the order of the history');
assert(WATCH_HISTORY_ITEMS >= MAX_TASKS_PER_JOB, 'the changes of one full-size job fit the watch history');
assert(WATCH_HISTORY_BYTES >= MAX_JOB_SPEC_BYTES, 'the watch history holds at least one largest job spec');
assert(PLAN_COMMIT_CHUNK_ASSIGNMENTS >= 1 && PLAN_COMMIT_CHUNK_ASSIGNMENTS <= PLAN_MAX_ASSIGNMENTS, 'a plan chunk is a valid plan');
assert(Number.isSafeInteger(MAX_TASK_DISK_BYTES) && MAX_TASK_RAM_BYTES <= MAX_TASK_DISK_BYTES, 'task bounds are safe integers');
assert(MAX_NAME_BYTES === 63, 'names are at most 63 bytes, matching ids.NAME_PATTERN');
assert(STATUS_PAGE_ROWS_DEFAULT <= STATUS_PAGE_ROWS_MAX && STATUS_PAGE_ROWS_MAX <= LIST_PAGE_SIZE_MAX, 'status pages are no larger than API pages');
assert(STATUS_LOG_TAIL_BYTES <= LOG_TAIL_MAX_BYTES, 'the status page asks for no more log than a Borglet serves');
assert(STATUS_LIVE_CLIENTS_MAX >= 1 && STATUS_LIVE_COALESCE_MS > 0 && STATUS_LIVE_IDS_MAX >= 1, 'live updates have positive bounds');
assert(STATUS_RECENT_EVENTS <= STATUS_PAGE_ROWS_MAX, 'recent events fit one page');
assert(PAXOS_KV_MAX_CONCURRENT_STREAMS >= 256 && PAXOS_KV_MAX_CONCURRENT_STREAMS <= PAXOS_MAX_INFLIGHT_SLOTS, 'the calls of one client connection fit in the Paxos pipeline');
assert(PAXOS_ENCODED_ENTRY_CACHE_ENTRIES >= 4 * PAXOS_MAX_BATCH_COMMANDS, 'two full Paxos batches fit one generation of the encoded-entry cache');
assert(PAXOS_LEVELDB_WRITE_BUFFER_BYTES >= 4 * PAXOS_MAX_BATCH_BYTES && PAXOS_LEVELDB_WRITE_BUFFER_BYTES <= 256 * MiB, 'a Paxos memtable holds several full batches, within a replica\'s memory');
assert(PAXOS_HTTP2_WINDOW_BYTES >= 2 * PAXOS_MAX_BATCH_BYTES && PAXOS_HTTP2_WINDOW_BYTES <= 2 ** 31 - 1, 'a full Paxos batch fits one HTTP/2 window, which HTTP/2 caps at 2^31-1');
assert(PAXOS_KV_ANSWERS_PER_TURN >= 1 && PAXOS_KV_ANSWERS_PER_TURN <= PAXOS_KV_MAX_CONCURRENT_STREAMS, 'a turn answers at least one call and at most a connection\'s worth');
