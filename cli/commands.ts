// Loads every command module; each registers itself with main.ts.
import './up';
