// Error pages: a precise message for a bad request or a missing object, in the same shell as every page.
import { html, type Html } from '../escape';
import { layout, type PageContext } from './layout';

export function errorPage(status: number, title: string, message: string, ctx: PageContext): Html {
  return layout(ctx, title, '', html`<p class="err" id="error" data-status="${status}">${message}</p><p><a href="/">back to the cell</a></p>`);
}
