"""UI connector: authenticates agent desktops, holds their Socket.IO connections, forwards every
event of a joined conversation and proxies Dialogflow REST calls.

The app factory is ``ui_connector.app.create_app``. This module stays import-free so that
gunicorn's gevent worker can monkey-patch before anything imports ssl or sockets.
"""
