import type { MigrationInterface, QueryRunner } from "typeorm";

export class SqliteOrganizations1795352631666 implements MigrationInterface {
    name = 'Organizations1795352631666'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "organizations" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar(96) NOT NULL, "created_at" datetime NOT NULL DEFAULT (datetime('now')))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_name" ON "organizations" ("name") `);
        await queryRunner.query(`CREATE TABLE "memberships" ("org_id" integer NOT NULL, "user_id" integer NOT NULL, "role" varchar(16) NOT NULL, PRIMARY KEY ("org_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "ix_memberships_user" ON "memberships" ("user_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_memberships_user"`);
        await queryRunner.query(`DROP TABLE "memberships"`);
        await queryRunner.query(`DROP INDEX "uq_organizations_name"`);
        await queryRunner.query(`DROP TABLE "organizations"`);
    }

}
