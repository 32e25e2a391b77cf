"""`make dev`: start the local stack, print where everything is, stop it all on Ctrl-C."""
from __future__ import annotations

import signal
import sys
import threading

from devstack.stack import LocalStack


def main() -> int:
    stack = LocalStack()
    print("Starting the local stack: Redis, Pub/Sub emulator (where installed), Dialogflow emulator, "
          "interceptor, UI connector...", flush=True)
    stack.start()
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    print(f"""
  Agent desktop page  {stack.url('ui-connector')}/
  UI connector        {stack.url('ui-connector')}   (Socket.IO, /register, Dialogflow proxy)
  Interceptor         {stack.url('interceptor')}   (Pub/Sub push endpoints)
  Dialogflow emulator {stack.url('dialogflow-emulator')}   (feedback received: /emulator/feedback)
  Notifications       {stack.notification_path}
  Redis               127.0.0.1:{stack.redis.port}
  Project             {stack.project}
  Logs                {stack.state_dir}/

Press Ctrl-C to stop.""", flush=True)
    stopping.wait()
    print("\nStopping...", flush=True)
    stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
