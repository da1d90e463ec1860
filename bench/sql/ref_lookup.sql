-- Reference (b): a primary-key SELECT.
\set id random(1, 1000000)
SELECT * FROM ref_vouchers WHERE id = :id;
