import { Column, Entity, PrimaryColumn } from 'typeorm';

const bigintOrNull = {
  to: (v: number | null | undefined) => (v === null || v === undefined ? null : v),
  from: (v: string | number | null) => (v === null || v === undefined ? null : Number(v)),
};

/** Storage limits of a namespace (user or organization), apart for private and public repos. */
@Entity({ name: 'quotas' })
export class QuotaEntity {
  @PrimaryColumn({ type: 'varchar', length: 96 })
  namespace!: string;

  @Column({ name: 'private_bytes', type: 'bigint', nullable: true, transformer: bigintOrNull })
  privateBytes!: number | null;

  @Column({ name: 'public_bytes', type: 'bigint', nullable: true, transformer: bigintOrNull })
  publicBytes!: number | null;
}
