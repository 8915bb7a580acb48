// Interner maps strings (attribute keys and values, job and user names) to small dense integers and back, so
// the scheduler compares numbers in its loops. Id 0 is reserved for "absent" and never handed out.
import { assert } from '../model/assert';

export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly names: string[] = [''];

  /** id returns the string's id, assigning the next one on first sight. */
  id(name: string): number {
    let id = this.ids.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(name, id);
      this.names.push(name);
    }
    return id;
  }

  /** lookup returns the id of a known string, or 0 when it was never interned (so it can match nothing). */
  lookup(name: string): number {
    return this.ids.get(name) ?? 0;
  }

  name(id: number): string {
    const n = this.names[id];
    assert(n !== undefined && id > 0, `interner: unknown id ${id}`);
    return n;
  }

  get size(): number {
    return this.names.length - 1;
  }
}
