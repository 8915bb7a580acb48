// Parking: the tasks of a class that found no machine are answered from the class's verdict, pass after pass,
// without being ordered or looked at, until room the class could use appears; then the class is examined at the
// end of its priority level and its tasks are decided again. Every pending task still gets a verdict each pass: a
// parked class gives one block for all its tasks (Plan.parked), the same object while nothing about it changed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PendingQueue } from './pending_queue';
import { TestCell } from './testing';
import { planVerdicts, type Plan } from './types';

const ids = (p: Plan): number[] => planVerdicts(p).map((v) => v.taskId).sort((a, b) => a - b);

test('a parked class is answered from its verdict and re-examined only when room it could use appears', () => {
  const cell = new TestCell().machine(1, { cpu: 2000 }).machine(2, { cpu: 2000 }).machine(3, { cpu: 1000 });
  // Prod blockers: a prod class may not preempt them, so the waiting class is exhausted.
  const blocker = cell.place(1, { cpu: 2000, priority: 360 });
  cell.place(2, { cpu: 2000, priority: 360 });
  const waiting = [cell.submit({ job: 'w', cpu: 1500 }), cell.submit({ job: 'w', cpu: 1500 }), cell.submit({ job: 'w', cpu: 1500 })];
  const sched = cell.scheduler();

  const p1 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(ids(p1), waiting.map((t) => t.id));
  assert.equal(p1.verdicts.length, 0, 'decided in order, then parked: their verdict is the block');
  assert.deepEqual(p1.parked, [{ why: '0/3 machines feasible: 3 insufficient cpu', taskIds: waiting.map((t) => t.id) }]);
  assert.equal(p1.stats.parkedTasks, 3);
  assert.equal(p1.stats.pending, 3);

  // Nothing changed: the same block object, nothing looked at.
  const p2 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(ids(p2), ids(p1));
  assert.equal(p2.stats.parkedTasks, 3);
  assert.equal(p2.stats.evaluations + p2.stats.indexedViews + p2.stats.wokenClasses, 0);
  assert.equal(p2.parked[0], p1.parked[0], 'the same object while neither the text nor the tasks changed');

  // Room appears that the class cannot use (a 1000-millicore machine frees up): it stays parked.
  const small = cell.place(3, { cpu: 500, priority: 360 });
  cell.snap.removeTask(small.id);
  const p3 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(ids(p3), ids(p1));
  assert.equal(p3.stats.wokenClasses, 0);
  assert.equal(p3.stats.parkedTasks, 3);
  assert.equal(p3.stats.evaluations, 0, 'the machine freed since is ruled out by its room bound, without an evaluation');

  // A task leaves the queue while parked: it gets no verdict. A new task of the class is answered and parked too.
  cell.queue.remove(waiting[2]?.id ?? -1);
  const late = cell.submit({ job: 'w', cpu: 1500 });
  const p4 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(ids(p4), [waiting[0]?.id, waiting[1]?.id, late.id]);
  assert.notEqual(p4.parked[0], p3.parked[0], 'a new block once its tasks changed');
  assert.equal(p4.stats.parkedTasks, 3);
  assert.equal(sched.schedulePass(cell.snap, cell.queue).parked[0], p4.parked[0]);

  // Room it can use: machine 1 frees up. The class wakes, one task is placed, the others park again.
  cell.snap.removeTask(blocker.id);
  const p5 = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(p5.stats.wokenClasses, 1);
  assert.equal(p5.assignments.length, 1);
  assert.equal(p5.assignments[0]?.machineId, 1);
  // The oldest task was placed, the next found the class exhausted again, and the last was not looked at.
  assert.equal(planVerdicts(p5).length, 2);
  assert.equal(p5.stats.parkedTasks, 2);
  assert.equal(p5.stats.evaluations <= 2, true, `evaluations ${p5.stats.evaluations}`);
  const p6 = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(p6.stats.parkedTasks, 2);
  assert.equal(p6.stats.wokenClasses, 0);
  assert.deepEqual(planVerdicts(p6).map((v) => v.why), ['0/3 machines feasible: 3 insufficient cpu', '0/3 machines feasible: 3 insufficient cpu']);
});

test("a woken class's blocks lose the tasks it decided, and those parked again follow in a tail block", () => {
  const cell = new TestCell().machine(1, { cpu: 2000 }).machine(2, { cpu: 2000 });
  const blocker = cell.place(1, { cpu: 2000, priority: 360 });
  cell.place(2, { cpu: 2000, priority: 360 });
  const [a, b, c, d, e] = Array.from({ length: 5 }, () => cell.submit({ job: 'w', cpu: 1500 }).id);
  const sched = cell.scheduler();
  const p1 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(p1.parked.map((x) => x.taskIds), [[a, b, c, d, e]]);

  // Machine 1 frees up: the class wakes, places its oldest task, finds itself exhausted again with the next (parked
  // again, behind the others) and does not look at the rest. The base block is the old one less the two decided.
  cell.snap.removeTask(blocker.id);
  const p2 = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(p2.assignments.map((x) => x.taskId), [a]);
  assert.deepEqual(p2.parked.map((x) => x.taskIds), [[c, d, e], [b]]);
  const why = '0/2 machines feasible: 2 insufficient cpu';
  assert.deepEqual(p2.parked.map((x) => x.why), [why, why]);
  assert.deepEqual(ids(p2), [b, c, d, e]);

  // Nothing changed: the same blocks. A task leaving the queue: the blocks are made again from the entries.
  const p3 = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(p3.parked[0], p2.parked[0]);
  assert.equal(p3.parked[1], p2.parked[1]);
  cell.queue.remove(d as number);
  assert.deepEqual(sched.schedulePass(cell.snap, cell.queue).parked.map((x) => x.taskIds), [[c, e, b]]);
});

test('a parked class is examined before lower priorities decide, so room freed by a higher-priority eviction is used', () => {
  // Machine 1 holds a batch task (priority 110) the waiting free-band class (priority 50) may not preempt. A prod
  // task then evicts it and takes less room: the parked class, examined at the end of its level, gets the rest.
  const cell = new TestCell().machine(1, { cpu: 4000 });
  const batch = cell.place(1, { cpu: 3000, priority: 110 });
  cell.place(1, { cpu: 1000, priority: 360 });
  const waiting = cell.submit({ job: 'free', cpu: 2000, priority: 50 });
  const sched = cell.scheduler();
  assert.equal(sched.schedulePass(cell.snap, cell.queue).stats.pending, 1);
  assert.equal(sched.schedulePass(cell.snap, cell.queue).stats.parkedTasks, 1);
  const prod = cell.submit({ job: 'prod', cpu: 1000, priority: 200 });
  const p = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(
    p.assignments.map((a) => [a.taskId, a.victims]),
    [
      [prod.id, [batch.id]],
      [waiting.id, []],
    ],
  );
  assert.equal(p.stats.wokenClasses, 1);
  assert.equal(p.stats.pending, 0);
});

test('a scheduler switched to another queue forgets what it parked', () => {
  const cell = new TestCell().machine(1, { cpu: 1000 });
  const t = cell.submit({ cpu: 2000 });
  const sched = cell.scheduler();
  sched.schedulePass(cell.snap, cell.queue);
  assert.equal(sched.schedulePass(cell.snap, cell.queue).stats.parkedTasks, 1);
  const other = new PendingQueue();
  other.add(t);
  const p = sched.schedulePass(cell.snap, other);
  assert.deepEqual(ids(p), [t.id]);
  // Back on the first queue, its entry is ordered again (not lost in a parked list that was forgotten).
  const back = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(ids(back), [t.id]);
});

test('a bounded pass gives no verdict to parked tasks of priorities it did not reach', () => {
  const cell = new TestCell().machine(1, { cpu: 1000 });
  const low = cell.submit({ cpu: 2000, priority: 0 });
  const sched = cell.scheduler();
  sched.schedulePass(cell.snap, cell.queue);
  cell.submit({ cpu: 100, priority: 200 });
  cell.submit({ cpu: 100, priority: 200 });
  const p = sched.schedulePass(cell.snap, cell.queue, { maxAssignments: 1 });
  assert.equal(p.assignments.length, 1);
  assert.deepEqual(ids(p), []);
  const q = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(q.assignments.length, 1);
  assert.deepEqual(ids(q), [low.id]);
});

test('a woken class draws one sample sized for the parked tasks it has left', () => {
  const cell = new TestCell();
  for (let m = 1; m <= 300; m++) cell.machine(m, { cpu: 2000, rack: `r${m}` });
  const blockers = [];
  for (let m = 1; m <= 300; m++) blockers.push(cell.place(m, { cpu: 2000, priority: 360 }));
  for (let i = 0; i < 100; i++) cell.submit({ job: 'w', cpu: 1500, priority: 100 });
  const sched = cell.scheduler({}, 1, { hotMachines: 0 });
  assert.equal(sched.schedulePass(cell.snap, cell.queue).stats.parkedTasks, 100, 'nothing fits: the class parks');
  // 200 machines free up (one task fits on each). The woken class's recheck keeps the best 64 (the feasible limit)
  // and places 64 tasks; then it samples the 136 machines left by fit, and with 36 tasks left it ranks all of
  // them in one sample rather than BEST_SCAN_PER_TASK machines at a time.
  for (const b of blockers.slice(0, 200)) cell.snap.removeTask(b.id);
  const p = sched.schedulePass(cell.snap, cell.queue);
  assert.equal(p.stats.wokenClasses, 1);
  assert.equal(p.assignments.length, 100);
  assert.equal(p.stats.sampledViews, 1, 'one sample for the 36 tasks left');
  assert.equal(p.stats.rankedMachines, 136);
});

test('a parked class that many freed machines could wake ranks them as a sample, and still finds the one that fits', () => {
  // 150 machines full of 65 small free-tier tasks each: evicting enough of them for the waiting batch task would take
  // more victims than an assignment may have. Then machine 150's tasks are replaced by one large one, and every other
  // machine has one task end and another start (logged as freed, no room gained): the class's recheck sees more
  // freed machines than RECHECK_RANK_MIN and ranks them by fit, machine 150 last (its ram is the least used), and
  // the best-ranked need too many victims. The recheck still goes on to machine 150 (one victim).
  const cell = new TestCell();
  for (let m = 1; m <= 150; m++) cell.machine(m, { cpu: 6500 });
  const small = new Map<number, number[]>();
  for (let m = 1; m <= 150; m++) small.set(m, Array.from({ length: 65 }, () => cell.place(m, { cpu: 100, ramGiB: 0.1, priority: 0 }).id));
  const waiting = cell.submit({ job: 'w', cpu: 6500, ramGiB: 1, priority: 104 });
  const sched = cell.scheduler();
  assert.deepEqual(ids(sched.schedulePass(cell.snap, cell.queue)), [waiting.id]);
  for (const id of small.get(150) as number[]) cell.snap.removeTask(id);
  const big = cell.place(150, { cpu: 6500, ramGiB: 6, priority: 0 });
  for (let m = 1; m < 150; m++) {
    cell.snap.removeTask((small.get(m) as number[])[0] as number);
    cell.place(m, { cpu: 100, ramGiB: 0.1, priority: 0 });
  }
  const p = sched.schedulePass(cell.snap, cell.queue);
  assert.deepEqual(p.assignments.map((a) => [a.taskId, a.machineId, a.victims]), [[waiting.id, 150, [big.id]]]);
  assert.equal(p.stats.supersetRechecks, 1);

  // When many of them fit: the recheck evaluates a sample of the 150, not all of them.
  const cell2 = new TestCell();
  for (let m = 1; m <= 150; m++) cell2.machine(m, { cpu: 4000 });
  const running: number[] = [];
  for (let m = 1; m <= 150; m++) for (let k = 0; k < 2; k++) running.push(cell2.place(m, { cpu: 2000, priority: 360 }).id);
  const waiting2 = cell2.submit({ job: 'w', cpu: 1000 });
  const sched2 = cell2.scheduler();
  sched2.schedulePass(cell2.snap, cell2.queue);
  for (const id of running) cell2.snap.removeTask(id);
  const p2 = sched2.schedulePass(cell2.snap, cell2.queue);
  assert.equal(p2.assignments[0]?.taskId, waiting2.id);
  assert.ok(p2.stats.evaluations <= 16, `evaluations ${p2.stats.evaluations}`);
});
