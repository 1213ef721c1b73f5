"""What a student does in JupyterLab, as Playwright calls: open a notebook, run it, move a view's controls.

A view is one of course.views' interactive plots: a row of controls above an image and an HTML
readout. Each interaction waits for what the student waits for: a new image from the kernel, then the
kernel going idle (the readout is written in the same update, just after the image).
"""

import re
import time

# Digest of the PNG a view shows: a new blob URL does not by itself mean a new picture.
IMAGE_DIGEST_JS = """async (image) => {
    const bytes = await (await fetch(image.src)).arrayBuffer();
    const digest = await crypto.subtle.digest("SHA-256", bytes);
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}"""
PROMPT = re.compile(r"^\[(\d+|\*| )\]:$")


class NotebookPage:
    def __init__(self, page, lab, path):
        self.page, self.lab, self.path = page, lab, path
        # The notebook's own panel: the status bar and menus are the page's, everything else is looked up here.
        self.panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")

    def open(self):
        self.page.goto(self.lab.url(self.path))
        self.wait_until_idle(timeout_s=90)

    def wait_until_idle(self, timeout_s=30):
        """Until the status bar shows the kernel connected and idle ("Python 3 (ipykernel) | Idle").

        The toolbar's indicator alone is not enough after opening: it reads idle before the session has a
        kernel, and Run All at that moment opens a "Select Kernel" dialog.
        """
        self.page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"ipykernel\) \| Idle$")).wait_for(
            timeout=timeout_s * 1000
        )
        self.panel.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').wait_for(timeout=timeout_s * 1000)

    def menu(self, menu, item):
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()

    def save(self):
        """File ▸ Save Notebook, and wait until the tab no longer marks unsaved changes."""
        self.menu("File", "Save Notebook")
        self.page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')")

    def prompts(self):
        """The execution prompt of every code cell in order: '1', '2', … once run, '*' while queued or running,
        '' before."""
        texts = self.panel.locator(".jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        return [match.group(1).strip() if (match := PROMPT.match(text.strip())) else "" for text in texts]

    def run_all(self, timeout_s=240):
        """Run ▸ Run All Cells and wait until the kernel is done: every code cell run, or the run stopped at an
        error (JupyterLab stops the queue at the first). Returns the tracebacks shown."""
        self.menu("Run", "Run All Cells")
        deadline = time.monotonic() + timeout_s
        while True:
            prompts = self.prompts()
            if self.kernel_idle() and "*" not in prompts:
                tracebacks = self.tracebacks()
                if tracebacks or all(prompt.isdigit() for prompt in prompts):
                    return tracebacks
            assert time.monotonic() < deadline, f"cells still running after {timeout_s} s: {prompts}"
            time.sleep(0.5)

    def kernel_idle(self):
        return self.panel.locator(".jp-Notebook-ExecutionIndicator").get_attribute("data-status") == "idle"

    def tracebacks(self):
        """The text of every error output (a traceback) shown in the notebook."""
        errors = self.panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        return [text for text in errors.all_inner_texts() if "Traceback" in text]

    def views(self):
        """Every interactive view the notebook shows, in order."""
        boxes = self.panel.locator(".jp-OutputArea-output > .widget-vbox:has(> .widget-image)")
        return [View(self, boxes.nth(index)) for index in range(boxes.count())]


class View:
    """One interactive view: its controls, the image it draws and its readout."""

    def __init__(self, notebook, box):
        self.notebook, self.page, self.box = notebook, notebook.page, box

    @property
    def image(self):
        return self.box.locator(":scope > .widget-image")

    def image_digest(self):
        return self.image.evaluate(IMAGE_DIGEST_JS)

    def readout(self):
        return self.box.locator(":scope > .widget-html").inner_text()

    def sliders(self):
        return self.box.locator(".widget-slider").all()

    def toggle_groups(self):
        return self.box.locator(".widget-toggle-buttons").all()

    def dropdowns(self):
        return self.box.locator(".widget-dropdown select").all()

    def checkboxes(self):
        return self.box.locator(".widget-checkbox input").all()

    def state(self):
        return self.image_digest(), self.readout()

    def after(self, action, previous, timeout_s=30):
        """Do `action`, wait for a new image and for the view to settle; return the new (digest, readout)."""
        action()
        self.page.wait_for_function(
            f"async (image) => ({IMAGE_DIGEST_JS})(image).then((digest) => digest !== {previous[0]!r})",
            arg=self.image.element_handle(),
            timeout=timeout_s * 1000,
            polling=100,
        )
        return self.settled()

    def settled(self, quiet_polls=3, poll_s=0.2, timeout_s=30):
        """(digest, readout) once the kernel is idle and the view unchanged for `quiet_polls` polls in a row.

        One idle moment is not the end of a drag: the frontend holds back the newest slider value while the
        kernel is busy and sends it when the kernel goes idle, so a second redraw may follow.
        """
        deadline = time.monotonic() + timeout_s
        last, quiet = None, 0
        while quiet < quiet_polls:
            assert time.monotonic() < deadline, "the view kept changing"
            time.sleep(poll_s)
            self.notebook.wait_until_idle()
            now = self.state()
            quiet = quiet + 1 if now == last else 0
            last = now
        return last

    def press(self, slider, key, times=1):
        handle = slider.locator(".noUi-handle")
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def drag(self, slider, fraction):
        """Drag the slider's handle by `fraction` of the track's width (negative: to the left), in small moves."""
        handle = slider.locator(".noUi-handle").bounding_box()
        track = slider.locator(".noUi-base").bounding_box()
        x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + fraction * track["width"], y, steps=20)
        self.page.mouse.up()

    @staticmethod
    def typable(slider):
        """Number sliders take a value typed into their readout box. A SelectionSlider's box looks editable too
        but does not take one; ipywidgets 8 renders it without the `jupyter-widgets` class, which tells them apart."""
        return "jupyter-widgets" in slider.get_attribute("class").split()

    @staticmethod
    def type_value(slider, text):
        box = slider.locator(".widget-readout")
        box.click()
        box.press("Control+A")
        box.press_sequentially(text)
        box.press("Enter")

    @staticmethod
    def slider_value(slider):
        return slider.locator(".widget-readout").inner_text()

    @staticmethod
    def room_to_the_right(slider):
        """True when the handle is in the left half of its track."""
        handle = slider.locator(".noUi-handle")
        low, high, now = (
            float(handle.get_attribute(name)) for name in ("aria-valuemin", "aria-valuemax", "aria-valuenow")
        )
        return now < (low + high) / 2
