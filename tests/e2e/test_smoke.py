from bot.core.ids import Action, Field


def test_adr_modal_to_posted_record(slack, emulator, db):
    reply = slack.command("new Use Postgres")
    assert reply.status == 200
    view = slack.opened_view()
    assert view["blocks"][0]["element"]["initial_value"] == "Use Postgres"
    reply = slack.submit(view, {Field.DECISION: "We use Postgres.", Field.DECIDERS: ["UBOB"]})
    assert reply.status == 200, reply.text
    [post] = emulator.wait_for("chat.postMessage")
    assert post.args["channel"] == "CGENERAL"
    assert "ADR-1: Use Postgres" in post.args["blocks"][0]["text"]["text"]
    actions = [b for b in post.args["blocks"] if b["type"] == "actions"][0]
    assert [e["action_id"] for e in actions["elements"]] == [
        Action.AGREE,
        Action.DISAGREE,
        Action.BLOCK,
        Action.DETAILS,
    ]
