/**
 * A set of 20-byte object ids kept as bytes (open addressing over one Uint8Array), with a number
 * attached to each. For the hot loops that meet every entry of every tree of a push: no hex
 * string and no Map entry per id seen, only for ids that are new.
 */
export class OidSet {
  private ids: Uint8Array;
  private values: Int32Array;
  private used: Uint8Array;
  private mask: number;
  private count = 0;

  constructor(capacity = 1024) {
    let slots = 16;
    while (slots < capacity * 2) slots *= 2;
    this.ids = new Uint8Array(slots * 20);
    this.values = new Int32Array(slots);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Slot of the id at buf[at, at+20), or of the empty slot where it would go (negative: -slot-1). */
  private slotOf(buf: Uint8Array, at: number): number {
    // Ids are SHA-1 output: their first bytes are already a good hash.
    let slot = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) & this.mask;
    for (;;) {
      if (!this.used[slot]) return -slot - 1;
      const base = slot * 20;
      let i = 0;
      while (i < 20 && this.ids[base + i] === buf[at + i]) i++;
      if (i === 20) return slot;
      slot = (slot + 1) & this.mask;
    }
  }

  has(buf: Uint8Array, at = 0): boolean {
    return this.slotOf(buf, at) >= 0;
  }

  /** Adds the id at buf[at, at+20) with `value` unless present; true if it was new. */
  add(buf: Uint8Array, at: number, value: number): boolean {
    const s = this.slotOf(buf, at);
    if (s >= 0) return false;
    const slot = -s - 1;
    this.ids.set(buf.subarray(at, at + 20), slot * 20);
    this.values[slot] = value;
    this.used[slot] = 1;
    if (++this.count * 2 > this.mask) this.grow();
    return true;
  }

  /** Adds the id at buf[at, at+20) with `value` unless present: -1 if it was new, else the value it has (values must be >= 0). */
  addOrGet(buf: Uint8Array, at: number, value: number): number {
    const s = this.slotOf(buf, at);
    if (s >= 0) return this.values[s]!;
    const slot = -s - 1;
    this.ids.set(buf.subarray(at, at + 20), slot * 20);
    this.values[slot] = value;
    this.used[slot] = 1;
    if (++this.count * 2 > this.mask) this.grow();
    return -1;
  }

  private grow(): void {
    const { ids, values, used } = this;
    const slots = (this.mask + 1) * 2;
    this.ids = new Uint8Array(slots * 20);
    this.values = new Int32Array(slots);
    this.used = new Uint8Array(slots);
    this.mask = slots - 1;
    this.count = 0;
    for (let s = 0; s < used.length; s++) if (used[s]) this.add(ids, s * 20, values[s]!);
  }

  /** Every id (hex) with its value. */
  *entries(): IterableIterator<[oid: string, value: number]> {
    const hex = Buffer.from(this.ids.buffer, this.ids.byteOffset, this.ids.byteLength);
    for (let s = 0; s < this.used.length; s++) if (this.used[s]) yield [hex.toString('hex', s * 20, s * 20 + 20), this.values[s]!];
  }
}
