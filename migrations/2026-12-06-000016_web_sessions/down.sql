DROP TABLE web_sessions;
DELETE FROM service_credentials WHERE service = 'web';
ALTER TABLE service_credentials DROP CONSTRAINT service_credentials_service_check;
ALTER TABLE service_credentials ADD CONSTRAINT service_credentials_service_check
    CHECK (service IN ('opds', 'kosync', 'hardcover'));
