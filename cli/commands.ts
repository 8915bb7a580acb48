// Loads every command module under cli/commands/; each registers itself with registry.ts.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('./commands/', import.meta.url));
for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).sort()) {
  await import(`./commands/${file}`);
}
