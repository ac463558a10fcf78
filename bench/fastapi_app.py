"""fastapi-passkeys 0.1.2 under the same wire contract as bench_server (bench/README.md).

BENCH_STORE=pg: its SQLAlchemy repository on PostgreSQL (DATABASE_URL, asyncpg) and its Redis
challenge store (REDIS_URL, BENCH_REDIS_PREFIX). BENCH_STORE=memory: its in-memory stores.
POST /signup {"username"} sets a cookie naming the user that register/begin is for.

Set up as its documentation says (docs/storage.md in its sdist:
`async_sessionmaker(engine, expire_on_commit=False)`, `Redis.from_url(...)`) and as a competent
user would: the SQLAlchemy pool is as large as bench_server's (BENCH_PG_POOL, default 10, no
overflow; SQLAlchemy's default is 5 + 10 overflow), and bench/run.sh starts it with
`uvicorn --loop uvloop --http httptools --no-access-log` (one process, pinned to one core).
Run: uvicorn --app-dir bench fastapi_app:app --port $PORT (PORT sets the expected origin).
"""
import os
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi_passkeys import PasskeyConfig, PasskeyUser, Passkeys
from fastapi_passkeys.contrib import InMemoryChallengeStore, InMemoryCredentialRepository

PORT = os.environ.get("PORT", "8000")
config = PasskeyConfig(rp_id="localhost", rp_name="fastapi-passkeys bench",
                       expected_origins=[f"http://localhost:{PORT}"], user_verification="required")
engine = None
if os.environ.get("BENCH_STORE", "memory") == "pg":
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from fastapi_passkeys.contrib.redis import RedisChallengeStore
    from fastapi_passkeys.contrib.sqlalchemy import PasskeyBase, SqlAlchemyCredentialRepository

    pool = int(os.environ.get("BENCH_PG_POOL", "10"))
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=pool, max_overflow=0)
    credentials = SqlAlchemyCredentialRepository(async_sessionmaker(engine, expire_on_commit=False))
    challenges = RedisChallengeStore(Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")),
                                     key_prefix=os.environ.get("BENCH_REDIS_PREFIX", "bench:fastapi:"))
else:
    credentials, challenges = InMemoryCredentialRepository(), InMemoryChallengeStore()


async def get_user(request: Request) -> PasskeyUser:
    name = request.cookies.get("bench_user")
    if not name:
        raise HTTPException(status_code=401, detail="sign up first")
    return PasskeyUser(id=name, name=name, display_name=name)


@asynccontextmanager
async def lifespan(_: FastAPI):
    if engine is not None:
        async with engine.begin() as conn:
            await conn.run_sync(PasskeyBase.metadata.create_all)
    yield


passkeys = Passkeys(config=config, credential_repository=credentials, challenge_store=challenges,
                    get_user=get_user)
app = FastAPI(lifespan=lifespan)
app.include_router(passkeys.router, prefix="/auth/passkeys")
passkeys.install_exception_handlers(app)


@app.post("/signup")
async def signup(body: dict, response: Response) -> dict:
    response.set_cookie("bench_user", str(body["username"]), httponly=True)
    return {"userId": body["username"]}
