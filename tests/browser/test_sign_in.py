"""A person signs in with the browser and sees their name; the wrong password is refused."""
from .conftest import screenshot


def test_sign_in_in_the_browser(open_as, live_url):
    page = open_as("dispatcher1")
    assert "派单员 王强" in page.content()
    page.click("text=退出")
    page.wait_for_url(f"{live_url}/login")


def test_wrong_password_shows_a_message(browser, live_url):
    page = browser.new_page()
    page.goto(f"{live_url}/login")
    page.fill("input[name=username]", "intake1")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.content()
    screenshot(page, "login-error")
    page.close()
