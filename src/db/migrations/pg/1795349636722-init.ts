import type { MigrationInterface, QueryRunner } from "typeorm";

export class PgInit1795349636722 implements MigrationInterface {
    name = 'Init1795349636722'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "lfs_objects" ("oid" character varying(64) NOT NULL, "size" bigint NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_1e704440659631f93a8f0c5497d" PRIMARY KEY ("oid"))`);
        await queryRunner.query(`CREATE TABLE "repo_lfs_objects" ("repo_id" character varying(36) NOT NULL, "oid" character varying(64) NOT NULL, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_b749e72ca86c01c34dc8a823be2" PRIMARY KEY ("repo_id", "oid"))`);
        await queryRunner.query(`CREATE TABLE "lfs_locks" ("id" character varying(36) NOT NULL, "repo_id" character varying(36) NOT NULL, "path" character varying(4096) NOT NULL, "owner_id" integer NOT NULL, "ref" character varying(1024), "locked_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_567418742d3d7593c37a47d0540" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_lfs_locks_path" ON "lfs_locks"  ("repo_id", "path") `);
        await queryRunner.query(`CREATE TABLE "settings" ("key" character varying(128) NOT NULL, "value" text NOT NULL, CONSTRAINT "PK_c8639b7626fa94ba8265628f214" PRIMARY KEY ("key"))`);
        await queryRunner.query(`CREATE TABLE "packs" ("repo_id" character varying(36) NOT NULL, "name" character varying(40) NOT NULL, "object_count" integer NOT NULL, "size_bytes" bigint NOT NULL, "source" character varying(16) NOT NULL, "state" character varying(16) NOT NULL DEFAULT 'live', "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_873727a9b968033b47a4da85cd4" PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`CREATE TABLE "refs" ("repo_id" character varying(36) NOT NULL, "name" character varying(1024) NOT NULL, "oid" character varying(40) NOT NULL, "peeled" character varying(40), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_bfcba1a29680fc7a8a6fc477aa1" PRIMARY KEY ("repo_id", "name"))`);
        await queryRunner.query(`CREATE TABLE "repositories" ("id" character varying(36) NOT NULL, "type" character varying(16) NOT NULL, "namespace" character varying(96) NOT NULL, "name" character varying(96) NOT NULL, "private" boolean NOT NULL DEFAULT false, "default_branch" character varying(255) NOT NULL DEFAULT 'main', "created_at" TIMESTAMP NOT NULL DEFAULT now(), "updated_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_ef0c358c04b4f4d29b8ca68ddff" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_repositories_name" ON "repositories"  ("type", "namespace", "name") `);
        await queryRunner.query(`CREATE TABLE "tokens" ("id" SERIAL NOT NULL, "user_id" integer NOT NULL, "name" character varying(128) NOT NULL, "scope" character varying(16) NOT NULL, "token_hash" character varying(64) NOT NULL, "expires_at" bigint, "last_used_at" bigint, "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_3001e89ada36263dabf1fb6210a" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "ix_tokens_user" ON "tokens"  ("user_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_tokens_hash" ON "tokens"  ("token_hash") `);
        await queryRunner.query(`CREATE TABLE "users" ("id" SERIAL NOT NULL, "name" character varying(96) NOT NULL, "email" character varying(320), "is_admin" boolean NOT NULL DEFAULT false, "password_hash" character varying(512), "created_at" TIMESTAMP NOT NULL DEFAULT now(), CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_name" ON "users"  ("name") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "uq_users_name"`);
        await queryRunner.query(`DROP TABLE "users"`);
        await queryRunner.query(`DROP INDEX "uq_tokens_hash"`);
        await queryRunner.query(`DROP INDEX "ix_tokens_user"`);
        await queryRunner.query(`DROP TABLE "tokens"`);
        await queryRunner.query(`DROP INDEX "uq_repositories_name"`);
        await queryRunner.query(`DROP TABLE "repositories"`);
        await queryRunner.query(`DROP TABLE "refs"`);
        await queryRunner.query(`DROP TABLE "packs"`);
        await queryRunner.query(`DROP TABLE "settings"`);
        await queryRunner.query(`DROP INDEX "uq_lfs_locks_path"`);
        await queryRunner.query(`DROP TABLE "lfs_locks"`);
        await queryRunner.query(`DROP TABLE "repo_lfs_objects"`);
        await queryRunner.query(`DROP TABLE "lfs_objects"`);
    }

}
