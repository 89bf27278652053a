#!/bin/sh
# chats.sh FIELD < dialogsum.jsonl: each DialogSum line as a chat conversation, one a line:
# {"messages":[{"role":"user","content":DIALOGUE},{"role":"assistant","content":FIELD}]}, or
# with FIELD "-" the user turn alone (a prompt for `generate --chat`). The strings keep their
# JSON escapes, except \n (a line break inside a dialogue), which becomes a space: the
# tokenizer is trained on one line of text at a time. DialogSum's strings use no other escapes
# than \n, \" and \\.
set -eu
S='"(([^"\\]|\\.)*)"'
if [ "$1" = - ]; then
  sed -E "s/.*\"dialogue\": $S.*/{\"messages\":[{\"role\":\"user\",\"content\":\"\\1\"}]}/"
else
  sed -E "s/.*\"dialogue\": $S.*\"$1\": $S.*/{\"messages\":[{\"role\":\"user\",\"content\":\"\\1\"},{\"role\":\"assistant\",\"content\":\"\\3\"}]}/"
fi | sed -e 's/\\n/ /g'
