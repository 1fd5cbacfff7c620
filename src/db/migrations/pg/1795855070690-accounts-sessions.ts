import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgAccountsSessions1795855070690 implements MigrationInterface {
    name = 'AccountsSessions1795855070690'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "namespace_names" ("name_key" character varying(96) NOT NULL, "kind" character varying(16) NOT NULL, "name" character varying(96) NOT NULL, CONSTRAINT "PK_f04c3e8c14a3fb74ac21d7ccf4a" PRIMARY KEY ("name_key"))`);
        await queryRunner.query(`CREATE TABLE "sessions" ("id_hash" character varying(64) NOT NULL, "user_id" integer NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), "expires_at" bigint NOT NULL, "last_seen_at" bigint NOT NULL, CONSTRAINT "PK_5dda86a77da1e1e37e690a45996" PRIMARY KEY ("id_hash"))`);
        await queryRunner.query(`CREATE INDEX "ix_sessions_user" ON "sessions"  ("user_id") `);
        await queryRunner.query(`CREATE INDEX "ix_sessions_expires" ON "sessions"  ("expires_at") `);
        await queryRunner.query(`ALTER TABLE "users" ADD "disabled" boolean NOT NULL DEFAULT false`);
        // Hand-added data step: every existing account name gets its case-insensitive key. An older pair
        // of names differing only in case keeps working (the second is skipped), but no new one can appear.
        await queryRunner.query(`INSERT INTO "namespace_names" ("name_key", "kind", "name") SELECT lower("name"), 'user', "name" FROM "users" ORDER BY "id" ON CONFLICT DO NOTHING`);
        await queryRunner.query(`INSERT INTO "namespace_names" ("name_key", "kind", "name") SELECT lower("name"), 'org', "name" FROM "organizations" ORDER BY "id" ON CONFLICT DO NOTHING`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "disabled"`);
        await queryRunner.query(`DROP INDEX "ix_sessions_expires"`);
        await queryRunner.query(`DROP INDEX "ix_sessions_user"`);
        await queryRunner.query(`DROP TABLE "sessions"`);
        await queryRunner.query(`DROP TABLE "namespace_names"`);
    }

}
