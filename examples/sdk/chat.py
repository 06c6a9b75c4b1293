"""Chat completions through the gateway, plain and streamed, with both clients.

    python examples/sdk/chat.py [deployment-or-alias]        (see clients.py for the environment)
"""

from __future__ import annotations

import sys

from clients import azure_client, v1_client


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "gpt-5.4"
    for name, client in (("AzureOpenAI, dated API", azure_client()), ("OpenAI, v1 API", v1_client())):
        print(f"== {name}")
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say hello in one short sentence."}]
        )
        print(reply.choices[0].message.content)
        print(f"tokens: {reply.usage.total_tokens if reply.usage else 'n/a'}")

        # The gateway never buffers a stream; ask for the final usage chunk so token counts are exact.
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Count from one to five."}],
            stream=True,
            stream_options={"include_usage": True},
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                print(chunk.choices[0].delta.content, end="", flush=True)
        print()


if __name__ == "__main__":
    main()
