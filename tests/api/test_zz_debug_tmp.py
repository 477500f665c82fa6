# temporary debug (deleted afterwards)
def test_debug(flask_app):
    with flask_app.test_client() as c:
        for coll in ["workflows", "workbooks", "environments", "executions", "tasks", "action_executions", "cron_triggers"]:
            items = c.get(f"/v2/{coll}").get_json()[coll]
            print("LEFT", coll, len(items))
        print("LEFT actions", [a["name"] for a in c.get("/v2/actions?is_system=false").get_json()["actions"]])
