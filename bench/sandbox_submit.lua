-- wrk script: gateway submits (each creates a job; run the sandbox with --concurrency 0 --rate-limit 0).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("HY3D_KEY") or "sk-hy3d-sandbox"
wrk.body = '{"Prompt":"a wooden chair","FaceCount":20000}'
