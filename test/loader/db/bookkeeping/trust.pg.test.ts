import { expect } from "chai";
import { rejectsWith } from "../../../support/errors";
import { SAMPLE_CSV } from "../../../support/files";
import { loadFixture } from "../../../support/loading";
import { withOtherRole } from "../../../support/postgres";

/**
 * A shared database: another role that may create objects in the schema plants sales-db's objects before its
 * first load, or objects that would stand in for built-in ones. The loader here is the test server's superuser,
 * as the official image's POSTGRES_USER is: whatever of theirs it ran would run with every privilege.
 */
describe("bookkeeping on a shared database: only what the loading role owns is trusted (real PostgreSQL)", () => {
  const t = loadFixture();
  /** Rows the planted code wrote: who ran it. */
  const ranAs = () => t.db.query<{ who: string }>("SELECT who FROM planted_log");
  const superuser = (role: string) =>
    t.db.query<{ super: boolean }>("SELECT rolsuper AS super FROM pg_roles WHERE rolname = $1", [role]);
  /** A log any role may write, and a function of `role` that records who runs it and tries to make `role` superuser. */
  const plantPayload = (role: string) =>
    t.db.query(`CREATE TABLE planted_log (who text); GRANT INSERT ON planted_log TO PUBLIC;
      SET ROLE "${role}";
      CREATE FUNCTION public.planted() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO public.planted_log VALUES (current_user);
        EXECUTE 'ALTER ROLE "${role}" SUPERUSER';
        RETURN NEW;
      END $$;
      RESET ROLE`);

  it("refuses a bookkeeping table another role planted, naming it and its owner, and never runs its trigger", async () => {
    await withOtherRole(t.db, async (role) => {
      await plantPayload(role);
      await t.db.query(`SET ROLE "${role}";
        CREATE TABLE public.sales_db_seeds (table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
          owner text, loaded_at timestamptz NOT NULL, table_oid oid, stamp text, modified boolean NOT NULL DEFAULT false,
          file_sha256 text, file_size bigint, rules_sha256 text, summary jsonb);
        CREATE TRIGGER planted BEFORE INSERT OR UPDATE OR DELETE ON public.sales_db_seeds
          FOR EACH ROW EXECUTE FUNCTION public.planted();
        RESET ROLE`);
      await rejectsWith(t.load(SAMPLE_CSV), {
        code: "untrusted_object",
        message: new RegExp(
          `^public\\.sales_db_seeds is owned by role ${role}, not by postgres, the role loading: .*nothing written$`,
        ),
      });
      expect(await ranAs()).to.deep.equal([]);
      expect(await superuser(role)).to.deep.equal([{ super: false }]);
      expect(await t.db.query("SELECT to_regclass('public.sales') IS NULL AS absent")).to.deep.equal([
        { absent: true },
      ]);
    });
  });

  it("refuses a planted bookkeeping row that names a neighbour's table, which stays", async () => {
    await withOtherRole(t.db, async (role) => {
      await t.db.query(`CREATE TABLE sales (note text); INSERT INTO sales VALUES ('the neighbour''s');
        SET ROLE "${role}";
        CREATE TABLE public.sales_db_seeds (table_name text PRIMARY KEY, sha256 text NOT NULL, columns text NOT NULL,
          owner text, loaded_at timestamptz NOT NULL, table_oid oid, stamp text, modified boolean NOT NULL DEFAULT false,
          file_sha256 text, file_size bigint, rules_sha256 text, summary jsonb);
        INSERT INTO public.sales_db_seeds (table_name, sha256, columns, loaded_at, table_oid)
          VALUES ('sales', 'x', 'note TEXT', now(), 'public.sales'::regclass);
        RESET ROLE`);
      await rejectsWith(t.load(SAMPLE_CSV), { code: "untrusted_object", message: `owned by role ${role}` });
      expect(await t.db.query("SELECT note FROM sales")).to.deep.equal([{ note: "the neighbour's" }]);
    });
  });

  it("refuses a trigger function another role planted, naming it and its owner, and leaves it as it was", async () => {
    await withOtherRole(t.db, async (role) => {
      await plantPayload(role);
      await t.db.query(`SET ROLE "${role}";
        CREATE FUNCTION public.sales_db_mark_modified() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM public.planted(); RETURN NEW; END $$;
        RESET ROLE`);
      await rejectsWith(t.load(SAMPLE_CSV), {
        code: "untrusted_object",
        message: new RegExp(
          `^function public\\.sales_db_mark_modified\\(\\) is owned by role ${role}, not by postgres, the role loading: `,
        ),
      });
      const [definition] = await t.db.query<{ secdef: boolean; source: string }>(
        "SELECT prosecdef AS secdef, prosrc AS source FROM pg_proc WHERE proname = 'sales_db_mark_modified'",
      );
      expect(definition).to.deep.include({ secdef: false });
      expect(definition?.source).to.contain("public.planted()");
      expect(await ranAs()).to.deep.equal([]);
    });
  });

  it("never calls a function another role created to stand in for a built-in one (the search_path is pinned)", async () => {
    await withOtherRole(t.db, async (role) => {
      await t.db.query(`CREATE TABLE planted_log (who text); GRANT INSERT ON planted_log TO PUBLIC;
        SET ROLE "${role}";
        -- A closer match than pg_catalog's hashtextextended(text, bigint) for the advisory lock's key, and than
        -- to_regclass(text) for an unknown literal: resolved first through a search_path that holds public.
        CREATE FUNCTION public.hashtextextended(text, integer) RETURNS bigint LANGUAGE sql
          AS 'INSERT INTO public.planted_log VALUES (current_user) RETURNING 0::bigint';
        CREATE FUNCTION public.to_regclass(character varying) RETURNS regclass LANGUAGE sql
          AS 'INSERT INTO public.planted_log VALUES (current_user) RETURNING NULL::regclass';
        RESET ROLE`);
      expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
      expect(await t.load(SAMPLE_CSV)).to.include({ changed: false });
      expect(await ranAs()).to.deep.equal([]);
    });
  });

  it("takes a table another role owns as foreign, even when the bookkeeping names its oid", async () => {
    await withOtherRole(t.db, async (role) => {
      await t.load(SAMPLE_CSV);
      await t.db.query(`ALTER TABLE sales OWNER TO "${role}"`);
      await rejectsWith(t.load(SAMPLE_CSV), { code: "foreign_table", message: /^sales exists but/ });
      expect(await t.rows()).to.have.length(3);
    });
  });

  it("takes a bookkeeping row without the table's oid (written by an older version) as foreign", async () => {
    await t.load(SAMPLE_CSV);
    await t.db.query("UPDATE sales_db_seeds SET table_oid = NULL");
    await rejectsWith(t.load(SAMPLE_CSV), { code: "foreign_table" });
    expect(await t.load(SAMPLE_CSV, { replaceForeignTable: true })).to.include({ changed: true });
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: false, validated: false });
  });

  it("refuses its own bookkeeping table once someone put a trigger on it", async () => {
    await t.load(SAMPLE_CSV);
    await t.db.query(`CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE TRIGGER extra BEFORE UPDATE ON sales_db_seeds FOR EACH ROW EXECUTE FUNCTION noop()`);
    await rejectsWith(t.load(SAMPLE_CSV), {
      code: "untrusted_object",
      message:
        /^public\.sales_db_seeds is a table with triggers, rules or row security, which sales-db never creates/,
    });
  });

  it("restores its own trigger function's definition, and reloads a table the previous version protected", async () => {
    await t.load(SAMPLE_CSV);
    // What the previous version left: one statement-level trigger, and a function that returns NULL.
    await t.db.query(`DROP TRIGGER sales_db_row_written ON sales; DROP TRIGGER sales_db_truncated ON sales;
      CREATE OR REPLACE FUNCTION sales_db_mark_modified() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path = pg_catalog, pg_temp AS $$
        BEGIN UPDATE public.sales_db_seeds SET modified = true WHERE table_oid = TG_RELID AND NOT modified;
        RETURN NULL; END $$;
      CREATE TRIGGER sales_db_modified AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sales
        FOR EACH STATEMENT EXECUTE FUNCTION sales_db_mark_modified();
      ALTER TABLE sales ENABLE ALWAYS TRIGGER sales_db_modified`);
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: false, validated: false });
    await t.db.query("UPDATE sales SET quantity = 1 WHERE product = 'Halal Mouse'");
    expect(await t.load(SAMPLE_CSV)).to.include({ changed: true, loaded: 3 });
    expect(await t.rows()).to.deep.include({ product: "Halal Mouse", price: 24.99, quantity: 10 });
  });
});
