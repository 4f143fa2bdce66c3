-- wrk script: the gateway query of an unknown job (the sandbox's cheapest full API path:
-- auth, JSON decode, validation, lookup, JSON answer). HY3D_KEY and HY3D_JOB override the defaults.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("HY3D_KEY") or "sk-hy3d-sandbox"
wrk.body = '{"JobId":"' .. (os.getenv("HY3D_JOB") or "1357237233311637504") .. '"}'
