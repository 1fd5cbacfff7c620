/**
 * A least-recently-used cache bounded by total weight (bytes), keyed by (owner, offset). Items
 * heavier than an eighth of the budget are not kept: one large object would flush everything else.
 */
export class ObjectCache<V> {
  private readonly map = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(
    readonly maxWeight: number,
    private readonly weigh: (v: V) => number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get weight(): number {
    return this.total;
  }

  get(owner: number, offset: number): V | undefined {
    const key = `${owner}:${offset}`;
    const hit = this.map.get(key);
    if (!hit) return undefined;
    // Re-insert: Map iteration order is insertion order, so the first key is the least recent.
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  set(owner: number, offset: number, value: V): void {
    const weight = this.weigh(value);
    const key = `${owner}:${offset}`;
    if (weight > this.maxWeight / 8 || this.map.has(key)) return;
    this.map.set(key, { value, weight });
    this.total += weight;
    for (const [k, old] of this.map) {
      if (this.total <= this.maxWeight) break;
      this.map.delete(k);
      this.total -= old.weight;
    }
  }
}
