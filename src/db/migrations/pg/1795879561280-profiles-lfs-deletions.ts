import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgProfilesLfsDeletions1795879561280 implements MigrationInterface {
    name = 'ProfilesLfsDeletions1795879561280'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "repo_lfs_deletions" ("repo_id" character varying(36) NOT NULL, "oid" character varying(64) NOT NULL, "deleted_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_1addc7400b01d2765d5c0b0710c" PRIMARY KEY ("repo_id", "oid"))`);
        await queryRunner.query(`ALTER TABLE "organizations" ADD "fullname" character varying(256)`);
        await queryRunner.query(`ALTER TABLE "organizations" ADD "avatar_url" character varying(2048)`);
        await queryRunner.query(`ALTER TABLE "users" ADD "fullname" character varying(256)`);
        await queryRunner.query(`ALTER TABLE "users" ADD "avatar_url" character varying(2048)`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "avatar_url"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "fullname"`);
        await queryRunner.query(`ALTER TABLE "organizations" DROP COLUMN "avatar_url"`);
        await queryRunner.query(`ALTER TABLE "organizations" DROP COLUMN "fullname"`);
        await queryRunner.query(`DROP TABLE "repo_lfs_deletions"`);
    }

}
