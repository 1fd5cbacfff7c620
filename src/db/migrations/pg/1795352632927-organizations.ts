import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgOrganizations1795352632927 implements MigrationInterface {
    name = 'Organizations1795352632927'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "organizations" ("id" SERIAL NOT NULL, "name" character varying(96) NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_6b031fcd0863e3f6b44230163f9" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_organizations_name" ON "organizations"  ("name") `);
        await queryRunner.query(`CREATE TABLE "memberships" ("org_id" integer NOT NULL, "user_id" integer NOT NULL, "role" character varying(16) NOT NULL, CONSTRAINT "PK_8a43e03ebb7e6f6486a1eab9392" PRIMARY KEY ("org_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "ix_memberships_user" ON "memberships"  ("user_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "ix_memberships_user"`);
        await queryRunner.query(`DROP TABLE "memberships"`);
        await queryRunner.query(`DROP INDEX "uq_organizations_name"`);
        await queryRunner.query(`DROP TABLE "organizations"`);
    }

}
