"""Drives the Discord simulator with discord.py, a client nobody here wrote.

Run by tests/it/discord_py.rs, which starts the simulator, passes its REST and gateway
URLs as arguments and the bot token in DISCORD_SIM_TOKEN, and plays the users: it
injects interactions and an op 7 RECONNECT when this script says where it is.

discord.py is pointed at the simulator the way it allows: `Route.BASE` is the REST
base, and the gateway URL comes from GET /gateway/bot, as discord.py's sharded client
asks for it (`DEFAULT_GATEWAY`, used after an invalid session, is set too).

The script prints one line per step, which the test reads:
  READY                  the shard identified and the client is ready
  ANSWERED <id> <n>      interaction <id> was answered with "pong <n>"
  POSTED <id>            a channel message was posted with the bot token
  REPLIED <id> <to>      message <id> was posted as a reply to <to>
  RESUMED                the shard resumed its session after a RECONNECT
  DONE                   everything the test asked for happened; the script exits 0
It exits 1 with a `FAIL <reason>` line on anything unexpected.
"""

import asyncio
import logging
import os
import sys

import discord
import discord.gateway
import discord.http
import yarl

# The whole check must finish well within the test's own timeout.
DEADLINE_SECONDS = 90


def say(line):
    print(line, flush=True)


async def main(api_url, gateway_url, channel_id):
    token = os.environ["DISCORD_SIM_TOKEN"]
    discord.http.Route.BASE = f"{api_url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    # No GUILD_CREATE follows READY in the simulator, so the client need not wait for one.
    client = discord.AutoShardedClient(
        intents=discord.Intents(guilds=True), guild_ready_timeout=0
    )
    received = []
    answered = []
    resumed = asyncio.Event()
    done = asyncio.Event()

    @client.event
    async def on_ready():
        say("READY")

    def check_done():
        # The replayed interaction may come before or after RESUMED.
        if len(answered) >= 2 and resumed.is_set():
            done.set()

    @client.event
    async def on_resumed():
        say("RESUMED")
        resumed.set()
        check_done()

    @client.event
    async def on_interaction(interaction):
        received.append(interaction.id)
        number = len(received)
        await interaction.response.send_message(f"pong {number}")
        # Counted once answered: RESUMED may come while this answer is on its way.
        answered.append(interaction.id)
        say(f"ANSWERED {interaction.id} {number}")
        if number == 1:
            # A message and a reply to it, with the bot token, as azcord posts an
            # outcome once an interaction token has expired.
            channel = client.get_partial_messageable(channel_id)
            posted = await channel.send("Starting web-1…")
            say(f"POSTED {posted.id}")
            reply = await posted.reply("web-1 is running")
            reference = reply.reference.message_id if reply.reference else None
            say(f"REPLIED {reply.id} {reference}")
        check_done()

    async with client:
        await client.login(token)
        runner = asyncio.create_task(client.connect(reconnect=True))
        finished = asyncio.create_task(done.wait())
        await asyncio.wait(
            [runner, finished],
            timeout=DEADLINE_SECONDS,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not done.is_set():
            if runner.done() and runner.exception() is not None:
                say(f"FAIL the client stopped: {runner.exception()!r}")
            else:
                say(f"FAIL timed out; answered {len(answered)}, resumed {resumed.is_set()}")
            return 1
        say("DONE")
        await client.close()
        runner.cancel()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    api, gateway, channel = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sys.exit(asyncio.run(main(api, gateway, channel)))
