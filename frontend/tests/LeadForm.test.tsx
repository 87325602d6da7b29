// @vitest-environment jsdom
import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { LeadForm, type LeadAction } from "@/components/LeadForm";
import { EMPTY_LEAD, leadFromFormData } from "@/lib/lead";

async function fillValidLead(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText(/^Name/), "Ada");
  await user.type(screen.getByLabelText(/^Email/), "ada@example.com");
  await user.type(screen.getByLabelText(/^Company/), "AE Ltd");
  await user.type(screen.getByLabelText(/^Message/), "Hello");
}

describe("LeadForm", () => {
  it("renders the fields and test hooks used by end-to-end tests", () => {
    render(<LeadForm action={vi.fn<LeadAction>()} />);
    const form = screen.getByTestId("lead-form");
    for (const name of ["name", "email", "company", "message"]) {
      expect(form.querySelector(`[name="${name}"]`)).not.toBeNull();
    }
    expect(screen.getByTestId("lead-submit")).toHaveAttribute("type", "submit");
    expect(screen.queryByTestId("lead-error")).toBeNull();
    expect(screen.queryByTestId("lead-success")).toBeNull();
  });

  it("blocks submission and explains invalid fields without calling the server", async () => {
    const user = userEvent.setup();
    const action = vi.fn<LeadAction>();
    render(<LeadForm action={action} />);

    await user.type(screen.getByLabelText(/^Email/), "not-an-email");
    await user.click(screen.getByTestId("lead-submit"));

    expect(action).not.toHaveBeenCalled();
    expect(screen.getByTestId("lead-error")).toHaveTextContent(/correct the highlighted fields/);
    expect(screen.getByTestId("lead-name-error")).toHaveTextContent("Name is required.");
    expect(screen.getByLabelText(/^Email/)).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText(/^Email/)).toHaveValue("not-an-email");
  });

  it("submits valid input and shows the success message", async () => {
    const user = userEvent.setup();
    const action = vi.fn<LeadAction>(async (_prev, formData) => {
      expect(leadFromFormData(formData)).toEqual({
        name: "Ada",
        email: "ada@example.com",
        company: "AE Ltd",
        message: "Hello",
      });
      return { status: "success", message: "Thanks!", values: EMPTY_LEAD };
    });
    render(<LeadForm action={action} />);

    await fillValidLead(user);
    await user.click(screen.getByTestId("lead-submit"));

    expect(await screen.findByTestId("lead-success")).toHaveTextContent("Thanks!");
    expect(action).toHaveBeenCalledTimes(1);
    expect(screen.queryByTestId("lead-error")).toBeNull();
    await waitFor(() => expect(screen.getByLabelText(/^Name/)).toHaveValue(""));
  });

  it("shows a server-side duplicate error on the email field and keeps what was typed", async () => {
    const user = userEvent.setup();
    const action = vi.fn<LeadAction>(async (_prev, formData) => ({
      status: "error",
      message: "This email is already registered.",
      fieldErrors: { email: "This email is already registered." },
      values: leadFromFormData(formData),
    }));
    render(<LeadForm action={action} />);

    await fillValidLead(user);
    await user.click(screen.getByTestId("lead-submit"));

    expect(await screen.findByTestId("lead-error")).toHaveTextContent("This email is already registered.");
    expect(screen.getByTestId("lead-email-error")).toHaveTextContent("already registered");
    expect(screen.getByLabelText(/^Email/)).toHaveValue("ada@example.com");
    expect(screen.getByLabelText(/^Company/)).toHaveValue("AE Ltd");
    expect(screen.queryByTestId("lead-success")).toBeNull();
  });

  it("disables the submit button while the request is in flight", async () => {
    const user = userEvent.setup();
    let finish: (() => void) | undefined;
    const action = vi.fn<LeadAction>(
      () =>
        new Promise((resolve) => {
          finish = () => resolve({ status: "success", message: "Thanks!", values: EMPTY_LEAD });
        }),
    );
    render(<LeadForm action={action} />);

    await fillValidLead(user);
    await user.click(screen.getByTestId("lead-submit"));

    await waitFor(() => expect(screen.getByTestId("lead-submit")).toBeDisabled());
    finish?.();
    await waitFor(() => expect(screen.getByTestId("lead-submit")).toBeEnabled());
    expect(screen.getByTestId("lead-success")).toBeInTheDocument();
  });
});
