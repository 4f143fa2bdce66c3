-- wrk script: a signed API 3.0 QueryHunyuanTo3DProJob (TC3 verification on every request).
-- bench/sandbox.sh passes the Authorization and timestamp in HY3D_AUTH and HY3D_TS.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-TC-Action"] = "QueryHunyuanTo3DProJob"
wrk.headers["X-TC-Version"] = "2025-05-13"
wrk.headers["X-TC-Region"] = "ap-guangzhou"
wrk.headers["X-TC-Timestamp"] = os.getenv("HY3D_TS")
wrk.headers["Authorization"] = os.getenv("HY3D_AUTH")
wrk.body = '{"JobId":"1357237233311637504"}'
