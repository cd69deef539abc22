-- The masking scenario's source database: the customer, card and bank tables the demo fills from
-- the CSV files beside this one, and a DMS task copies into the raw bucket. Valid in SQLite and
-- PostgreSQL alike (the demo's SQLite file, or the database --source-url names).
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    username TEXT,
    name TEXT,
    sex TEXT,
    address TEXT,
    mail TEXT,
    birthdate TEXT,
    job TEXT,
    phone TEXT
);
CREATE TABLE credit_cards (
    customer_id INTEGER PRIMARY KEY,
    credit_card_provider TEXT,
    credit_card_number TEXT,
    credit_card_expire TEXT,
    credit_card_security_code TEXT
);
CREATE TABLE bank (
    customer_id INTEGER PRIMARY KEY,
    iban TEXT,
    bban TEXT,
    account_number TEXT,
    bank_country TEXT
);
