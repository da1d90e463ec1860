-- Reference (b): a primary-key SELECT.
\set id random(1, :n)
SELECT * FROM ref_vouchers WHERE id = :id;
