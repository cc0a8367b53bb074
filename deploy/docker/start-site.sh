#!/bin/sh
# Start a site's BIRD in the compose example: SITE, AS, IP (this site) and ROUTER (the peer).
set -e
mkdir -p /run/bird /run/edgedns
: > /run/bird/routes4.conf
: > /run/bird/routes6.conf
sed -e "s/@AS@/$AS/g" -e "s/@IP@/$IP/g" -e "s/@ROUTER@/$ROUTER/g" /etc/bird/site-bird.conf.in > /run/bird/bird.conf
bird -c /run/bird/bird.conf -s /run/bird/bird.ctl -P /run/bird/bird.pid
