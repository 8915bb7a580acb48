// The scheduler benchmark's measurement, as the child process that `--loader compiled` (the default) runs from
// the compiled bundle (cli/up/compiled.ts).
import bench from './index';

await bench.run(process.argv.slice(2));
