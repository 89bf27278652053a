#!/bin/sh
# extract.sh FIELD < FILE.jsonl: the string FIELD of each JSON line, one a line, with the JSON
# escapes \n (a line break inside a dialogue) read as a space and \" and \\ undone. DialogSum's
# strings use no other escapes.
set -eu
sed -E "s/.*\"$1\": \"(([^\"\\\\]|\\\\.)*)\".*/\\1/" |
  sed -e 's/\\n/ /g' -e 's/\\"/"/g' -e 's/\\\\/\\/g'
