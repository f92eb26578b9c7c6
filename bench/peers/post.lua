-- wrk script of bench/peers_bench.py: the Invoke every server gets (the body the sequential
-- client sends; an Authorization header shaped like SigV4's, as Lamina requires one).
wrk.method = "POST"
wrk.body   = '{"hello": "world", "n": 1}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=abc"
