def test_register_login_and_record_a_body_stat(client, user, create_stat):
    stat = create_stat(user)
    listed = client.get("/v1/body-stats", headers=user.headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json["items"]] == [stat["id"]]
