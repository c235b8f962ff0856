-- audit_log.sql - the product's change log (educommon's audit log) in the
-- current database, as the spec's AUDIT_LOG.md describes it, for tests against
-- a real PostgreSQL. Idempotent: may be loaded again.
--
--   public.audit_log_table     which tables are logged
--   public.audit_log_auditlog  one row per changed product row
--   public.audit_log_trigger() the AFTER ... FOR EACH ROW trigger function
--   public.audit_log_enable(schema, tbl)  register a table and put the trigger on it
--   audit.postgresql_errors    errors swallowed by the trigger
--
-- Who/where (user_id, user_type_id, ip) are taken, when set, from the session
-- settings audit_log.user_id, audit_log.user_type_id, audit_log.ip (e.g.
-- SET LOCAL audit_log.user_id = '7'); otherwise NULL.
-- Not modelled: excluding `auto_now` columns from the "nothing changed" test,
-- the service database + postgres_fdw split, partitions.

CREATE EXTENSION IF NOT EXISTS hstore;

CREATE TABLE IF NOT EXISTS public.audit_log_table (
    id      serial PRIMARY KEY,
    name    varchar(250) NOT NULL,
    schema  varchar(250) NOT NULL,
    logged  boolean NOT NULL DEFAULT true,
    CONSTRAINT audit_log_table_name_schema_key UNIQUE (name, schema)
);

CREATE TABLE IF NOT EXISTS public.audit_log_auditlog (
    id            serial PRIMARY KEY,
    time          timestamptz NOT NULL DEFAULT now(),
    table_id      integer NOT NULL REFERENCES public.audit_log_table (id),
    object_id     integer NOT NULL,
    data          hstore,
    changes       hstore,
    operation     smallint NOT NULL,
    user_id       integer,
    user_type_id  integer,
    ip            inet
);
CREATE INDEX IF NOT EXISTS audit_log_auditlog_time ON public.audit_log_auditlog (time);
CREATE INDEX IF NOT EXISTS audit_log_auditlog_table_id ON public.audit_log_auditlog (table_id);
CREATE INDEX IF NOT EXISTS audit_log_auditlog_object_id ON public.audit_log_auditlog (object_id);
CREATE INDEX IF NOT EXISTS audit_log_auditlog_user_id ON public.audit_log_auditlog (user_id);
CREATE INDEX IF NOT EXISTS audit_log_auditlog_user_type_id ON public.audit_log_auditlog (user_type_id);

CREATE SCHEMA IF NOT EXISTS audit;
CREATE TABLE IF NOT EXISTS audit.postgresql_errors (
    id          serial PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT clock_timestamp(),
    "user"      text,
    ip          inet,
    query       text,
    error_code  text,
    error_text  text
);

CREATE OR REPLACE FUNCTION public.audit_log_trigger() RETURNS trigger
LANGUAGE plpgsql
SET search_path = public, pg_catalog
AS $fn$
DECLARE
    v_table_id  integer;
    v_data      hstore;
    v_changes   hstore;
    v_op        smallint;
    v_id        text;
    v_object_id integer;
BEGIN
    BEGIN
        SELECT t.id INTO v_table_id
          FROM public.audit_log_table t
         WHERE t.name = TG_TABLE_NAME AND t.schema = TG_TABLE_SCHEMA AND t.logged;
        IF v_table_id IS NULL THEN
            RETURN NULL;                    -- not registered or not logged
        END IF;

        IF TG_OP = 'INSERT' THEN
            v_data := hstore(NEW);
            v_op := 1;
        ELSIF TG_OP = 'UPDATE' THEN
            v_data := hstore(OLD);
            v_changes := hstore(NEW) - v_data;   -- changed columns, new values (NULL kept)
            IF v_changes = ''::hstore THEN
                RETURN NULL;                -- nothing changed: nothing logged
            END IF;
            v_op := 2;
        ELSIF TG_OP = 'DELETE' THEN
            v_data := hstore(OLD);
            v_op := 3;
        ELSE
            RETURN NULL;
        END IF;

        -- the row's id (NEW.id for INSERT and UPDATE, OLD.id for DELETE),
        -- 0 when it has none (or no integer one)
        v_id := CASE WHEN TG_OP = 'UPDATE' THEN hstore(NEW) -> 'id' ELSE v_data -> 'id' END;
        IF v_id ~ '^-?[0-9]{1,10}$' AND v_id::bigint BETWEEN -2147483648 AND 2147483647 THEN
            v_object_id := v_id::integer;
        ELSE
            v_object_id := 0;
        END IF;

        INSERT INTO public.audit_log_auditlog
               (time, table_id, object_id, data, changes, operation, user_id, user_type_id, ip)
        VALUES (now(), v_table_id, v_object_id, v_data, v_changes, v_op,
                NULLIF(current_setting('audit_log.user_id', true), '')::integer,
                NULLIF(current_setting('audit_log.user_type_id', true), '')::integer,
                NULLIF(current_setting('audit_log.ip', true), '')::inet);
    EXCEPTION WHEN OTHERS THEN
        -- best effort, as educommon: the product's change must still commit
        BEGIN
            INSERT INTO audit.postgresql_errors ("user", ip, query, error_code, error_text)
            VALUES (session_user, inet_client_addr(), current_query(), SQLSTATE, SQLERRM);
        EXCEPTION WHEN OTHERS THEN
            NULL;
        END;
        RAISE WARNING 'audit_log_trigger on %.%: % (%)', TG_TABLE_SCHEMA, TG_TABLE_NAME, SQLERRM, SQLSTATE;
    END;
    RETURN NULL;                            -- AFTER trigger: result ignored
END
$fn$;

CREATE OR REPLACE FUNCTION public.audit_log_enable(schema text, tbl text) RETURNS void
LANGUAGE plpgsql
SET search_path = public, pg_catalog
SET client_min_messages = warning
AS $fn$
BEGIN
    INSERT INTO public.audit_log_table AS t (name, schema, logged)
    VALUES (audit_log_enable.tbl, audit_log_enable.schema, true)
    ON CONFLICT ON CONSTRAINT audit_log_table_name_schema_key DO UPDATE SET logged = true;

    EXECUTE format('DROP TRIGGER IF EXISTS audit_log ON %I.%I',
                   audit_log_enable.schema, audit_log_enable.tbl);
    EXECUTE format('CREATE TRIGGER audit_log AFTER INSERT OR UPDATE OR DELETE ON %I.%I '
                   'FOR EACH ROW EXECUTE FUNCTION public.audit_log_trigger()',
                   audit_log_enable.schema, audit_log_enable.tbl);
END
$fn$;
