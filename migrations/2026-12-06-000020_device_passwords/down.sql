DROP TABLE device_passwords;
