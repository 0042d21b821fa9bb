#!/usr/bin/env python3
"""Generates chat_templates.json: reference renderings of real Hugging Face chat templates.

How to run (from the repository root, after one `mvn -B -q -pl im-core verify` so that the
tokenizer files are downloaded into im-core/target/tokenizers):

    apt-get install -y python3-jinja2          # Debian's jinja2; no PyPI needed
    /usr/bin/python3 im-core/src/test/resources/golden/templates/generate.py

The script reproduces what transformers does in `apply_chat_template(..., tokenize=False)`
(`_compile_jinja_template` / `render_jinja_template`): an ImmutableSandboxedEnvironment with
trim_blocks=True, lstrip_blocks=True and the loopcontrols extension, HF's own `tojson` filter
(json.dumps with ensure_ascii=False and the indent/separators/sort_keys options), the
`raise_exception` and `strftime_now` globals, and render(messages=..., tools=None,
documents=None, add_generation_prompt=..., **special_tokens) where special_tokens holds the
non-null bos/eos/unk/pad tokens of tokenizer_config.json. `strftime_now` uses a fixed date
(2024-07-26) so the output is reproducible.

For each message the file also records `expected_content`: the text that the template emits
from that message's content (null when the message's content does not appear in the output),
computed here by mirroring each template's own logic. The Java test checks that the content
spans of the rendering concatenate to exactly that text.

CI only reads the committed JSON; this script is not run by the build.
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", "..", ".."))
TOKENIZERS = os.path.join(REPO, "im-core", "target", "tokenizers")
FIXED_NOW = datetime.datetime(2024, 7, 26, 9, 30, 0)


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(
            x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
        )

    def strftime_now(fmt):
        return FIXED_NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def read_config(model):
    path = os.path.join(TOKENIZERS, model, "package", "models", "tokenizer_config.json")
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    tokens = {}
    for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        if value is not None:
            tokens[key] = value
    return config["chat_template"], tokens


def qwen3_expected(messages):
    """Mirrors the Qwen3 template: which part of each content it emits."""
    last_query = len(messages) - 1
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        c = m["content"]
        if m["role"] == "user" and not (
            c.startswith("<tool_response>") and c.endswith("</tool_response>")
        ):
            last_query = i
            break
    out = []
    for i, m in enumerate(messages):
        c = m["content"]
        if m["role"] == "user" or (m["role"] == "system"):
            out.append(c)
        elif m["role"] == "assistant":
            content, reasoning = c, ""
            if "</think>" in c:
                content = c.split("</think>")[-1].lstrip("\n")
                reasoning = c.split("</think>")[0].rstrip("\n").split("<think>")[-1].lstrip("\n")
            last = i == len(messages) - 1
            if i > last_query and (last or reasoning):
                out.append(reasoning.strip("\n") + content.lstrip("\n"))
            else:
                out.append(content)
        else:
            out.append(None)
    return out


def llama3_expected(messages):
    return [m["content"].strip() for m in messages]


M = lambda role, content: {"role": role, "content": content}  # noqa: E731

CONVERSATIONS = [
    ("single user", [M("user", "Hello!")]),
    ("user assistant", [M("user", "What is 2+2?"), M("assistant", "4")]),
    (
        "system multi turn",
        [
            M("system", "You are a helpful assistant."),
            M("user", "Hi"),
            M("assistant", "Hello! How can I help?"),
            M("user", "Tell me a joke."),
            M("assistant", "Why did the chicken cross the road?"),
        ],
    ),
    ("empty assistant", [M("user", "Say nothing."), M("assistant", "")]),
    ("empty user", [M("user", ""), M("assistant", "ok")]),
    ("empty system", [M("system", ""), M("user", "hi"), M("assistant", "yo")]),
    (
        "unicode",
        [
            M("user", "Ünïcödé ✓ — 日本語 テキスト 😀👍🏽"),
            M("assistant", "Emoji: 🎉🚀 and 中文, Ελληνικά, עברית"),
        ],
    ),
    (
        "template markers in content",
        [
            M("user", "<|im_start|>system\nfake<|im_end|> <|user|> {{ x }} {% if %} <s>"),
            M("assistant", "<|start_header_id|>user<|end_header_id|>\n\n<|eot_id|>"),
        ],
    ),
    (
        "whitespace",
        [
            M("system", "  \n sys with spaces \n\n"),
            M("user", "\n\n  leading and trailing  \n"),
            M("assistant", "\n\nanswer after newlines\t \n"),
        ],
    ),
    ("whitespace only assistant", [M("user", "q"), M("assistant", " \n\n ")]),
    (
        "think last",
        [M("user", "Why?"), M("assistant", "<think>\nBecause reasons.\n</think>\n\nThe answer.")],
    ),
    (
        "think earlier turn",
        [
            M("user", "First"),
            M("assistant", "<think>\nhidden\n</think>\n\nvisible one"),
            M("user", "Second"),
            M("assistant", "<think>\nr2\n</think>\n\nvisible two"),
        ],
    ),
    ("think with empty answer", [M("user", "x"), M("assistant", "<think>only thinking</think>")]),
    (
        "system only middle",
        [M("user", "a"), M("assistant", "b"), M("system", "late system"), M("user", "c")],
    ),
    (
        "quotes and backslashes",
        [M("user", "He said \"hi\" and 'bye' \\ back\\slash"), M("assistant", "C:\\path\\n")],
    ),
]


# Hand-written templates in the styles of other model families (their tokenizer files are not
# fetched by the build). For these only the text is compared and each content span must be a
# piece of its message's content; expected_content is null.
EXTRA_TEMPLATES = {
    "mistral-style": (
        "{{ bos_token }}{% for message in messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
        "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
        "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
        "{% endif %}{% endfor %}",
        {"bos_token": "<s>", "eos_token": "</s>"},
    ),
    "llama2-style": (
        "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
        "{% set system_message = messages[0]['content'] %}{% else %}"
        "{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
        "{% for message in loop_messages %}"
        "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
        "{% endif %}{% if loop.index0 == 0 and system_message != false %}"
        "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
        "{% else %}{% set content = message['content'] %}{% endif %}"
        "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
        "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}"
        "{% endif %}{% endfor %}",
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    ),
    "macro-indented": (
        "{%- macro header(role) -%}\n"
        "    <|{{ role | upper }}|>{{ '\\n' }}\n"
        "{%- endmacro -%}\n"
        "{%- set ns = namespace(count=0, roles=[]) -%}\n"
        "{%- for m in messages -%}\n"
        "    {%- set ns.count = ns.count + 1 -%}\n"
        "    {%- set ns.roles = ns.roles + [m.role] -%}\n"
        "    {{ header(m.role) }}\n"
        "    {%- if m.content is string and m.content | length > 0 %}\n"
        "        {{ m.content | replace('\\r\\n', '\\n') | trim }}\n"
        "    {%- else %}(empty){% endif %}\n"
        "    {% if not loop.last %}---{% endif %}\n"
        "{% endfor %}\n"
        "{{- '#' ~ ns.count ~ ' ' ~ ns.roles | join(',') ~ ' ' ~ (messages | map(attribute='role') | unique | list | length) }}\n"
        "{%- if add_generation_prompt %}{{ header('assistant') }}{% endif %}",
        {},
    ),
    "tojson-and-dates": (
        "Date: {{ strftime_now('%d %b %Y') }}\n"
        "{{ messages | tojson }}\n"
        "{{ messages[-1] | tojson(indent=2) }}\n"
        "{% for m in messages[::-1] %}{{ loop.revindex }}:{{ m['content'][:5] }}|{% endfor %}\n"
        "{{ tools is none }}{{ documents is defined }}{{ (messages | selectattr('role', 'equalto', 'user') | list | length) }}",
        {},
    ),
}

EXTRA_CONVERSATIONS = [
    ("alternating", [M("user", "Hi there"), M("assistant", " Hello! "), M("user", "Bye\r\nnow")]),
    ("with system", [M("system", "Be brief."), M("user", "Q?"), M("assistant", "A.")]),
    (
        "json specials",
        [M("user", "quote \" backslash \\ tab \t nl \n ctrl \u0001 émoji 🎉"), M("assistant", "")],
    ),
]


def render_or_error(template, messages, agp, tokens):
    try:
        return template.render(
            messages=messages, tools=None, documents=None, add_generation_prompt=agp, **tokens
        ), None
    except jinja2.exceptions.TemplateError as e:
        return None, str(e)


def main():
    templates = {"qwen3": qwen3_expected, "llama3": llama3_expected}
    cases = []
    for model, expected_fn in templates.items():
        source, tokens = read_config(model)
        template = compile_template(source)
        for name, messages in CONVERSATIONS:
            for agp in (False, True):
                text = template.render(
                    messages=messages,
                    tools=None,
                    documents=None,
                    add_generation_prompt=agp,
                    **tokens,
                )
                cases.append(
                    {
                        "model": model,
                        "name": name,
                        "add_generation_prompt": agp,
                        "messages": messages,
                        "expected_content": expected_fn(messages),
                        "text": text,
                    }
                )
    for model, (source, tokens) in EXTRA_TEMPLATES.items():
        template = compile_template(source)
        for name, messages in EXTRA_CONVERSATIONS:
            for agp in (False, True):
                text, error = render_or_error(template, messages, agp, tokens)
                cases.append(
                    {
                        "model": model,
                        "name": name,
                        "add_generation_prompt": agp,
                        "messages": messages,
                        "expected_content": None,
                        "text": text,
                        "error": error,
                    }
                )
    extra = {name: {"source": src, "special_tokens": tok} for name, (src, tok) in EXTRA_TEMPLATES.items()}
    out = os.path.join(HERE, "chat_templates.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"generator": "generate.py", "jinja2": jinja2.__version__,
                   "templates": extra, "cases": cases},
                  f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
