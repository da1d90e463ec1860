-- The raw-SQL reference: a voucher table and a ledger, 1,000,000 vouchers (:n rows).
-- Same shape of work as voucherd's charge (lock row, update balance, insert ledger row).
DROP TABLE IF EXISTS ref_ledger, ref_vouchers;
CREATE TABLE ref_vouchers (
    id         bigint PRIMARY KEY,
    tenant_id  bigint NOT NULL,
    public_id  text NOT NULL,
    currency   char(3) NOT NULL,
    balance    bigint NOT NULL CHECK (balance >= 0),
    version    integer NOT NULL,
    updated_at timestamptz NOT NULL
);
INSERT INTO ref_vouchers
SELECT g, 1, 'ref_' || md5(g::text), 'EUR', 100000000, 1, now()
FROM generate_series(1, :n) AS g;
CREATE TABLE ref_ledger (
    id            bigserial PRIMARY KEY,
    tenant_id     bigint NOT NULL,
    voucher_id    bigint NOT NULL,
    amount        bigint NOT NULL,
    balance_after bigint NOT NULL,
    created_at    timestamptz NOT NULL
);
VACUUM ANALYZE ref_vouchers;
VACUUM ANALYZE ref_ledger;
