"""`make dev`: start the local stack, print where everything is, stop it all on Ctrl-C.

Ctrl-C, SIGTERM or a closed terminal (SIGHUP) stop every process the stack started, also
while it is still starting; a second Ctrl-C does not cut the clean-up short.
"""
from __future__ import annotations

import signal
import sys
import threading

from devstack.stack import LocalStack

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    for signum in STOP_SIGNALS:
        signal.signal(signum, _interrupt)
    stack = LocalStack()
    try:
        print("Starting the local stack: Redis, Pub/Sub emulator (where installed), Dialogflow emulator, "
              "interceptor, UI connector...", flush=True)
        stack.start()
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
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
        print("\nStopping...", flush=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
