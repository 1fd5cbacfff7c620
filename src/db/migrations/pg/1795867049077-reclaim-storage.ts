import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgReclaimStorage1795867049077 implements MigrationInterface {
    name = 'ReclaimStorage1795867049077'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "lfs_objects" ADD "orphaned_at" bigint`);
        await queryRunner.query(`ALTER TABLE "packs" ADD "superseded_at" bigint`);
        await queryRunner.query(`ALTER TABLE "repositories" ADD "gc_epoch" integer NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "repositories" DROP COLUMN "gc_epoch"`);
        await queryRunner.query(`ALTER TABLE "packs" DROP COLUMN "superseded_at"`);
        await queryRunner.query(`ALTER TABLE "lfs_objects" DROP COLUMN "orphaned_at"`);
    }

}
