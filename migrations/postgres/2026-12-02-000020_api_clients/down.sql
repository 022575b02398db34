DROP TABLE personal_tokens;
DROP TABLE api_clients;
