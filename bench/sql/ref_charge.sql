-- Reference (a): the charge transaction in raw SQL (lock, update balance, insert ledger row).
\set id random(1, :n)
BEGIN;
SELECT balance FROM ref_vouchers WHERE id = :id FOR UPDATE \gset
UPDATE ref_vouchers SET balance = :balance - 1, version = version + 1, updated_at = now() WHERE id = :id;
INSERT INTO ref_ledger (tenant_id, voucher_id, amount, balance_after, created_at) VALUES (1, :id, -1, :balance - 1, now());
COMMIT;
