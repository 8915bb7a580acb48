// `borg up`: brings up a local cell. The cell's processes arrive with the Borgmaster issue; until then this says so.
import { register, EXIT } from '../registry';
import { loadCellConfig } from '../../cells/config';

register('up', {
  summary: 'bring up a local cell (replicas, scheduler, Borglets, status page)',
  async run(args) {
    if (args.includes('--help')) {
      console.log('usage: borg up [--cell FILE] [--examples]\n\nexample: borg up --cell cells/local.yaml --examples');
      return EXIT.ok;
    }
    const i = args.indexOf('--cell');
    const file = i >= 0 ? args[i + 1] : 'cells/local.yaml';
    if (!file) throw new Error('--cell needs a file');
    const cell = loadCellConfig(file);
    console.error(`borg up: cell ${cell.name} is valid (${cell.replicas.length} replicas, ${cell.machines.length} machines), but the Borgmaster is not built yet`);
    return EXIT.internal;
  },
});
