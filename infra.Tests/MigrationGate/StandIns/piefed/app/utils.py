"""PieFed's own Redis client, as upstream's app/utils.py builds it at v1.7.7 (get_redis_connection,
parse_redis_socket_string): host, port and password are what urllib's `urlparse` gives, the database
is the path's number, and the password is never percent-decoded, unlike redis-py's and kombu's URL
parsers. This is the client that serves PieFed's shared inbox and send queue, so a URL it reads
differently breaks federation while everything else works."""

from urllib.parse import urlparse

import redis


def get_redis_connection(connection_string):
    url = urlparse(connection_string)
    return redis.Redis(
        host=url.hostname,
        port=url.port,
        db=int(url.path.lstrip("/") or 0),
        password=url.password,
        decode_responses=True,
    )
